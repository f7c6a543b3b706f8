//! `cloudchat`: the whole product in one process on one port, SQLite under `./data`.

use std::io::Write;
use std::process::ExitCode;

use cloudchat::{QuickStart, backup, export};

/// `cloudchat --help`.
const USAGE: &str = "\
usage: cloudchat [command]

commands:
  serve                                  run Cloud Chat (the default)
  admin grant <email> [--role admin|moderator]
                                         make an account admin (or moderator); works while the server runs
  admin revoke <email>                   make an account an ordinary user again
  backup <dir>                           copy DATA_DIR's databases, key and files while the server runs
  restore [--force] <dir>                put a backup back into DATA_DIR (server stopped)
  export-to-postgres --auth-db URL --chat-db URL
                                         move the data up to PostgreSQL (server stopped)
  healthcheck                            exit 0 when the running server is healthy

Settings come from the environment (.env.example); DATA_DIR (default ./data) holds the data.
";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("help" | "--help" | "-h") => {
            let _ = std::io::stdout().write_all(USAGE.as_bytes());
            return ExitCode::SUCCESS;
        }
        Some("admin") => return admin(&args[1..]).await,
        _ => {}
    }
    service_kit::cli::main(
        "cloudchat",
        QuickStart::from_env,
        // `/healthz` answers on the loopback ops port only, as nginx keeps it off the public one.
        |q| q.ops_addr.clone(),
        run,
    )
    .await
}

async fn run(command: String, config: QuickStart) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(2).collect();
    if let Some(backup) = backup::Command::parse(&command, &args) {
        return backup?.run(&config.data_dir).await;
    }
    if command == "export-to-postgres" {
        let (auth_db, chat_db) = export::parse_args(&args)?;
        // A stopped quick start only: its lock, like restore.
        let _lock = backup::DataDirLock::acquire(&config.data_dir)?;
        for copied in export::export_to_postgres(&config.data_dir, &auth_db, &chat_db).await? {
            let rows: u64 = copied.tables.iter().map(|(_, n)| n).sum();
            tracing::info!(database = copied.database, rows, tables = ?copied.tables, "copied to PostgreSQL");
        }
        return Ok(());
    }
    if command != "serve" {
        return Err(service_kit::cli::unknown_command(
            &command,
            "serve, admin grant|revoke <email>, backup <dir>, restore [--force] <dir>, export-to-postgres --auth-db URL --chat-db URL or healthcheck (cloudchat --help)",
        ));
    }
    // Held until the process ends: `cloudchat restore` refuses a DATA_DIR a server uses, and a
    // second server on the same DATA_DIR refuses to start (deploy/README.md).
    let _lock = backup::DataDirLock::acquire(&config.data_dir)?;
    let host = config
        .bind_addr
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h)
        .to_owned();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let running = cloudchat::start(config).await?;
    let shown = if host == "127.0.0.1" || host == "0.0.0.0" {
        "localhost"
    } else {
        host.as_str()
    };
    tracing::info!(
        port = running.port,
        ops_port = running.ops_port,
        "Cloud Chat is running at {scheme}://{shown}:{} (health, readiness, metrics and internal API on http://127.0.0.1:{} only)",
        running.port,
        running.ops_port
    );
    running.run_until_stopped().await
}

/// `cloudchat admin grant|revoke <email> [--role admin|moderator]`: auth-service's own
/// command (`auth_service::admin_cli`) on the quick start's auth database in DATA_DIR. It only
/// writes that database, so it works while the server runs.
async fn admin(args: &[String]) -> ExitCode {
    let data_dir = match QuickStart::from_env() {
        Ok(config) => config.data_dir,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "cloudchat admin: {err}");
            return ExitCode::FAILURE;
        }
    };
    let database_url = cloudchat::auth_database_url(&data_dir);
    auth_service::admin_cli::main("cloudchat", &database_url, true, args).await
}
