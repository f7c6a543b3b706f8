//! `chat-service [serve|migrate|healthcheck]`.

use std::process::ExitCode;

use chat_service::config::Settings;
use chat_service::startup::{Application, MIGRATIONS};

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::telemetry::init();
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(err) => {
            tracing::error!("{err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match command.as_str() {
        "serve" => serve(settings).await,
        "migrate" => store_kit::migrate_url(&settings.database_url, &MIGRATIONS).await,
        "healthcheck" => return service_kit::healthcheck::run(&settings.bind_addr),
        other => Err(anyhow::anyhow!(
            "unknown command {other:?}; use serve, migrate or healthcheck"
        )),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "chat-service stopped");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "chat-service listening");
    app.run_until_stopped().await?;
    tracing::info!("chat-service stopped cleanly");
    Ok(())
}
