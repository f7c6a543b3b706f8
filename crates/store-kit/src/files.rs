//! Owner-only local data: the directories and files a service keeps on disk (SQLite
//! databases, the development signing key) are readable by the user that runs it and no one
//! else — 0700 directories, 0600 files. SQLite gives its `-wal` and `-shm` files the mode of
//! the database file, so creating that one 0600 covers all three.

use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents as 0700. An existing directory is left as it is
/// (it may be a mount point or the working directory): only what we create is ours to set.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes sure `path` exists as a file only its owner can read or write: created empty and
/// 0600 when missing, tightened to 0600 when an earlier version left it open (its `-wal` and
/// `-shm` companions too, when they exist).
pub fn private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?;
    #[cfg(unix)]
    {
        let mut companions = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            companions.push(name.into());
        }
        for file in companions.iter().filter(|f| f.exists()) {
            tighten(file)?;
        }
    }
    Ok(())
}

/// Writes a new file as 0600; fails when it already exists.
pub fn write_new_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents)
}

#[cfg(unix)]
fn tighten(file: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_owner_only_and_tightens_old_files() {
        let root = std::env::temp_dir().join(format!("store-kit-files-{}", std::process::id()));
        let dir = root.join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.join("a")), 0o700);

        let db = dir.join("x.db");
        private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        let wal = dir.join("x.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_file(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));

        let key = dir.join("k.pem");
        write_new_private_file(&key, b"k").unwrap();
        assert_eq!(mode(&key), 0o600);
        assert!(write_new_private_file(&key, b"again").is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
