//! `cloudchat backup <dir>` and `cloudchat restore [--force] <dir>`: the quick start's data —
//! `chat.db`, `auth.db`, the signing key file and the uploaded files (`files/`, when they are
//! stored there) in DATA_DIR — copied out while the server
//! runs, and copied back while it does not. How to use them: deploy/README.md ("Backup and
//! restore of the single binary"); why this way: docs/decisions.md ("Online backup of the
//! single binary").
//!
//! A running `cloudchat serve` holds an exclusive lock on `DATA_DIR/cloudchat.lock`
//! ([`DataDirLock`]); `restore` takes the same lock, so it cannot write under a running server,
//! and a server cannot start in the middle of a restore. The kernel drops the lock with the
//! process, so a crash leaves no stale lock behind.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// The databases, in the order a backup copies them: chat-service's rows refer to users by
/// id, and users are never deleted from auth.db, so snapshotting chat.db first and auth.db
/// second gives an auth.db that knows every user the chat.db copy mentions.
pub const DATABASES: [&str; 2] = [crate::CHAT_DB, crate::AUTH_DB];

/// The directory of uploaded files in DATA_DIR (chat-service's default `STORAGE_URL`).
pub const FILES_DIR: &str = "files";

/// The lock file a running server holds in DATA_DIR.
pub const LOCK_FILE: &str = "cloudchat.lock";

/// How long a snapshot waits for a writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// What `cloudchat backup` or `restore` is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Backup { dir: PathBuf },
    Restore { dir: PathBuf, force: bool },
}

impl Command {
    /// `backup <dir>` or `restore [--force] <dir>` (`args` are the words after the command);
    /// `None` for any other command.
    pub fn parse(command: &str, args: &[String]) -> Option<anyhow::Result<Self>> {
        let usage = |what: &str| Some(Err(anyhow::anyhow!("usage: cloudchat {what}")));
        match command {
            "backup" => match args {
                [dir] if !dir.starts_with('-') => Some(Ok(Self::Backup { dir: dir.into() })),
                _ => usage("backup <new or empty directory>"),
            },
            "restore" => {
                let force = args.iter().any(|a| a == "--force");
                let rest: Vec<&String> = args.iter().filter(|a| *a != "--force").collect();
                match rest.as_slice() {
                    [dir] if !dir.starts_with('-') => Some(Ok(Self::Restore {
                        dir: dir.into(),
                        force,
                    })),
                    _ => usage("restore [--force] <backup directory>"),
                }
            }
            _ => None,
        }
    }

    pub async fn run(self, data_dir: &Path) -> anyhow::Result<()> {
        match self {
            Self::Backup { dir } => {
                let files = backup(data_dir, &dir).await?;
                tracing::info!(dir = %dir.display(), files = ?files, "backup written");
            }
            Self::Restore { dir, force } => {
                let files = restore(data_dir, &dir, force).await?;
                tracing::info!(data_dir = %data_dir.display(), files = ?files, "backup restored");
            }
        }
        Ok(())
    }
}

/// An exclusive advisory lock on `DATA_DIR/cloudchat.lock`, held while the value lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock, creating DATA_DIR (owner-only) and the lock file when missing; fails
    /// at once, naming the directory, when another process holds it.
    pub fn acquire(data_dir: &Path) -> anyhow::Result<Self> {
        store_kit::files::private_dir(data_dir)
            .with_context(|| format!("creating DATA_DIR {}", data_dir.display()))?;
        let path = data_dir.join(LOCK_FILE);
        store_kit::files::private_file(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        let file = File::options()
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "DATA_DIR {} is in use: a running cloudchat holds {}; stop it first",
                data_dir.display(),
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}

/// Copies the databases (each a consistent snapshot, taken with `VACUUM INTO` while the
/// server may be writing) and the key file into `dir`, a new directory created owner-only
/// or an empty one. Returns the names of the files written.
pub async fn backup(data_dir: &Path, dir: &Path) -> anyhow::Result<Vec<String>> {
    for db in DATABASES {
        let source = data_dir.join(db);
        if !source.is_file() {
            bail!(
                "no {db} in DATA_DIR {}: set DATA_DIR as for the server",
                data_dir.display()
            );
        }
    }
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("the backup directory {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "refusing to write a backup into {}: it is not empty (name a new directory)",
                dir.display()
            );
        }
    } else {
        store_kit::files::private_dir(dir)
            .with_context(|| format!("creating the backup directory {}", dir.display()))?;
    }
    let mut written = Vec::new();
    for db in DATABASES {
        let target = dir.join(db);
        // VACUUM INTO writes into an empty file: created here so that it is owner-only.
        store_kit::files::private_file(&target)
            .with_context(|| format!("creating {}", target.display()))?;
        snapshot(&data_dir.join(db), &target)
            .await
            .with_context(|| format!("copying {db}"))?;
        check(&target).await?;
        written.push(db.to_owned());
    }
    for key in key_files(data_dir)? {
        copy_private(&data_dir.join(&key), &dir.join(&key))?;
        written.push(key);
    }
    // The files after the databases: every upload the snapshot knows is on disk by now
    // (uploads are written before their row completes); one swept meanwhile is missing from
    // the copy, as it would be from the server.
    let files = data_dir.join(FILES_DIR);
    if files.is_dir() {
        let n = copy_tree(&files, &dir.join(FILES_DIR))?;
        tracing::info!(files = n, "uploaded files copied");
        written.push(FILES_DIR.to_owned());
    }
    Ok(written)
}

/// Copies a directory tree (directories 0700, files 0600); returns how many files.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<usize> {
    store_kit::files::private_dir(to).with_context(|| format!("creating {}", to.display()))?;
    let mut n = 0;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            n += copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            copy_private(&entry.path(), &target)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Copies a backup made by [`backup`] into `data_dir`, after checking its databases, when no
/// server holds DATA_DIR and (unless `force`) DATA_DIR holds no data yet. Each file is
/// written beside its destination and renamed over it; a replaced database's `-wal` and
/// `-shm` files are removed first, so that an old log is never replayed onto the new file.
/// A key file in DATA_DIR is left alone when the backup has none.
pub async fn restore(data_dir: &Path, dir: &Path, force: bool) -> anyhow::Result<Vec<String>> {
    for db in DATABASES {
        let source = dir.join(db);
        if !source.is_file() {
            bail!(
                "{} is not a cloudchat backup: it has no {db}",
                dir.display()
            );
        }
        check(&source).await?;
    }
    let keys = key_files(dir)?;
    let _lock = DataDirLock::acquire(data_dir)?;
    let existing: Vec<String> = std::fs::read_dir(data_dir)
        .with_context(|| format!("reading DATA_DIR {}", data_dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| is_data_file(name))
        .collect();
    if !existing.is_empty() && !force {
        bail!(
            "DATA_DIR {} already holds data ({}); pass --force to replace it with the backup",
            data_dir.display(),
            existing.join(", ")
        );
    }
    let mut restored = Vec::new();
    // The files first: a restored database never names an upload that is not on disk.
    let files = dir.join(FILES_DIR);
    let mut files_restored = false;
    if files.is_dir() {
        let target = data_dir.join(FILES_DIR);
        let staged = data_dir.join(format!("{FILES_DIR}.restoring"));
        remove_tree_if_present(&staged)?;
        let n = copy_tree(&files, &staged)?;
        remove_tree_if_present(&target)?;
        std::fs::rename(&staged, &target)
            .with_context(|| format!("moving {} into place", target.display()))?;
        tracing::info!(files = n, "uploaded files restored");
        files_restored = true;
    }
    for name in DATABASES.iter().map(|d| (*d).to_owned()).chain(keys) {
        let target = data_dir.join(&name);
        let staged = data_dir.join(format!("{name}.restoring"));
        remove_if_present(&staged)?;
        copy_private(&dir.join(&name), &staged)?;
        for suffix in ["-wal", "-shm"] {
            remove_if_present(&data_dir.join(format!("{name}{suffix}")))?;
        }
        std::fs::rename(&staged, &target)
            .with_context(|| format!("moving {} into place", target.display()))?;
        restored.push(name);
    }
    if files_restored {
        // Listed in the order a backup lists it.
        restored.push(FILES_DIR.to_owned());
    }
    File::open(data_dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing DATA_DIR {}", data_dir.display()))?;
    Ok(restored)
}

/// A database, a database's companion, a key file or the files directory: what a restore
/// would replace.
fn is_data_file(name: &str) -> bool {
    name == FILES_DIR
        || is_key_file(name)
        || DATABASES
            .iter()
            .any(|db| name == *db || name == format!("{db}-wal") || name == format!("{db}-shm"))
}

/// The signing key file the quick start keeps in DATA_DIR (absent when `JWT_PRIVATE_KEY`
/// comes from the environment).
fn is_key_file(name: &str) -> bool {
    name == auth_service::startup::KEY_FILE
}

fn key_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut keys: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| {
            let e = e.ok()?;
            e.file_type().ok()?.is_file().then_some(())?;
            e.file_name().into_string().ok()
        })
        .filter(|name| is_key_file(name))
        .collect();
    keys.sort();
    Ok(keys)
}

/// One connection to an existing database file (never created here), waiting for locks.
async fn open(path: &Path) -> anyhow::Result<sqlx::SqliteConnection> {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .busy_timeout(BUSY_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("opening {}", path.display()))
}

/// `VACUUM INTO`: one read transaction over `source`, so the copy is the database as of one
/// commit, whatever other connections write meanwhile (under WAL they are not blocked).
async fn snapshot(source: &Path, target: &Path) -> anyhow::Result<()> {
    let target = target
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8", target.display()))?;
    let mut conn = open(source).await?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut conn)
        .await
        .with_context(|| format!("VACUUM INTO {target}"))?;
    conn.close().await?;
    Ok(())
}

/// `PRAGMA integrity_check` must answer `ok`.
pub async fn check(path: &Path) -> anyhow::Result<()> {
    let mut conn = open(path).await?;
    let answer: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .with_context(|| format!("checking {}", path.display()))?;
    conn.close().await?;
    if answer != ["ok"] {
        bail!(
            "{} fails SQLite's integrity check: {}",
            path.display(),
            answer.join("; ")
        );
    }
    Ok(())
}

/// Copies a file into a new owner-only one, flushed to disk.
fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let copy = || -> io::Result<()> {
        let mut source = File::open(from)?;
        let mut options = File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut target = options.open(to)?;
        io::copy(&mut source, &mut target)?;
        target.sync_all()
    };
    copy().with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

fn remove_tree_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_the_two_commands_and_refuses_the_rest() {
        let parse = |c: &str, a: &str| Command::parse(c, &words(a)).map(|r| r.ok());
        assert_eq!(
            parse("backup", "b1"),
            Some(Some(Command::Backup { dir: "b1".into() }))
        );
        assert_eq!(
            parse("restore", "--force b1"),
            Some(Some(Command::Restore {
                dir: "b1".into(),
                force: true
            }))
        );
        assert_eq!(
            parse("restore", "b1"),
            Some(Some(Command::Restore {
                dir: "b1".into(),
                force: false
            }))
        );
        for (c, a) in [
            ("backup", ""),
            ("backup", "a b"),
            ("backup", "--force"),
            ("restore", ""),
            ("restore", "-f b1"),
        ] {
            assert_eq!(parse(c, a), Some(None), "{c} {a}");
        }
        assert_eq!(parse("serve", ""), None);
    }

    #[test]
    fn data_files_are_the_databases_their_logs_and_keys() {
        for name in [
            "auth.db",
            "chat.db-wal",
            "auth.db-shm",
            "jwt-signing-key.pem",
        ] {
            assert!(is_data_file(name), "{name}");
        }
        for name in [LOCK_FILE, "notes.txt", "chat.db.restoring", "tls.pem"] {
            assert!(!is_data_file(name), "{name}");
        }
    }
}
