//! `ws-relay [serve|healthcheck]`.

use std::process::ExitCode;

use ws_relay::{Application, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::cli::main("ws-relay", Settings::from_env, |s| s.bind_addr.clone(), run).await
}

async fn run(command: String, settings: Settings) -> anyhow::Result<()> {
    match command.as_str() {
        "serve" => {
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "ws-relay listening");
            app.run_until_stopped().await?;
            tracing::info!("ws-relay stopped cleanly");
            Ok(())
        }
        other => Err(service_kit::cli::unknown_command(
            other,
            "serve or healthcheck",
        )),
    }
}
