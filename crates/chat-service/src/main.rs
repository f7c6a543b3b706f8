//! `chat-service [serve|migrate|healthcheck]`.

use std::process::ExitCode;

use chat_service::config::Settings;
use chat_service::startup::{Application, MIGRATIONS};

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::cli::main(
        "chat-service",
        Settings::from_env,
        |s| s.bind_addr.clone(),
        run,
    )
    .await
}

async fn run(command: String, settings: Settings) -> anyhow::Result<()> {
    match command.as_str() {
        "serve" => {
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "chat-service listening");
            app.run_until_stopped().await?;
            tracing::info!("chat-service stopped cleanly");
            Ok(())
        }
        "migrate" => store_kit::migrate_url(&settings.database_url, &MIGRATIONS).await,
        other => Err(service_kit::cli::unknown_command(
            other,
            "serve, migrate or healthcheck",
        )),
    }
}
