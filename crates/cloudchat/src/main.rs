//! `cloudchat`: the whole product in one process on one port, SQLite under `./data`.

use std::process::ExitCode;

use cloudchat::QuickStart;

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
    if command != "serve" {
        return Err(service_kit::cli::unknown_command(
            &command,
            "serve or healthcheck",
        ));
    }
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
