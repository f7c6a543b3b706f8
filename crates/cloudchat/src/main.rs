//! `cloudchat`: the whole product in one process on one port, SQLite under `./data`.

use std::process::ExitCode;

use cloudchat::{QuickStart, backup, export};

#[tokio::main]
async fn main() -> ExitCode {
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
            "serve, backup <dir>, restore [--force] <dir>, export-to-postgres --auth-db URL --chat-db URL or healthcheck",
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
