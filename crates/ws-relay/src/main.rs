//! `ws-relay [serve|healthcheck]`.

use std::process::ExitCode;

use ws_relay::{Application, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    service_kit::telemetry::init();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(err) => {
            tracing::error!("{err}");
            return ExitCode::FAILURE;
        }
    };
    match command.as_str() {
        "serve" => {}
        "healthcheck" => return service_kit::healthcheck::run(&settings.bind_addr),
        other => {
            tracing::error!("unknown command {other:?}; use serve or healthcheck");
            return ExitCode::FAILURE;
        }
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "ws-relay cannot start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(port = app.port(), "ws-relay listening");
    match app.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("ws-relay stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = %err, "ws-relay stopped");
            ExitCode::FAILURE
        }
    }
}
