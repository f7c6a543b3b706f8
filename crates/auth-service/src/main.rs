//! `auth-service [serve|migrate|keygen|healthcheck|admin ...]`.

use std::process::ExitCode;

use auth_service::config::Settings;
use auth_service::startup::{Application, MIGRATIONS};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("keygen") => return keygen(),
        // Reads only DATA_DIR and DATABASE_URL: it runs beside a server, or without one.
        Some("admin") => {
            let (_, database_url) = auth_service::config::database_from_env();
            let migrate = database_url.starts_with("sqlite:");
            return auth_service::admin_cli::main(
                "auth-service",
                &database_url,
                migrate,
                &args[1..],
            )
            .await;
        }
        _ => {}
    }
    service_kit::cli::main(
        "auth-service",
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
            tracing::info!(port = app.port(), "auth-service listening");
            app.run_until_stopped().await?;
            tracing::info!("auth-service stopped cleanly");
            Ok(())
        }
        "migrate" => store_kit::migrate_url(&settings.database_url, &MIGRATIONS).await,
        other => Err(service_kit::cli::unknown_command(
            other,
            "serve, migrate, keygen, healthcheck or admin (grant <email> [--role admin|moderator] | revoke <email>)",
        )),
    }
}

/// Prints a new Ed25519 private key (PKCS#8 PEM) for JWT_PRIVATE_KEY; needs no settings.
fn keygen() -> ExitCode {
    use std::io::Write;
    let written = tokens::SigningKey::generate()
        .map_err(|e| e.to_string())
        .and_then(|key| {
            std::io::stdout()
                .write_all(key.to_pem().as_bytes())
                .map_err(|e| e.to_string())
        });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "keygen failed: {err}");
            ExitCode::FAILURE
        }
    }
}
