//! `auth-service [serve|migrate|keygen|healthcheck]`.

use std::process::ExitCode;

use auth_service::config::Settings;
use auth_service::startup::{Application, MIGRATIONS};

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    if command == "keygen" {
        return keygen();
    }
    service_kit::telemetry::init();
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
            "unknown command {other:?}; use serve, migrate, keygen or healthcheck"
        )),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "auth-service stopped");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "auth-service listening");
    app.run_until_stopped().await?;
    tracing::info!("auth-service stopped cleanly");
    Ok(())
}

/// Prints a new Ed25519 private key (PKCS#8 PEM) for JWT_PRIVATE_KEY.
fn keygen() -> ExitCode {
    use std::io::Write;
    match tokens::SigningKey::generate() {
        Ok(key) => {
            let mut out = std::io::stdout();
            if out.write_all(key.to_pem().as_bytes()).is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "keygen failed: {err}");
            ExitCode::FAILURE
        }
    }
}
