//! The command line every service binary shares: `<service> [serve|migrate|healthcheck|...]`.

use std::process::ExitCode;

use crate::ConfigError;

/// Sets up tracing, loads the settings (a configuration error is logged and exits 1), answers
/// `healthcheck` itself, and hands any other command (default `serve`) to `run`.
pub async fn main<S, L, A, F, Fut>(service: &'static str, load: L, bind_addr: A, run: F) -> ExitCode
where
    L: FnOnce() -> Result<S, ConfigError>,
    A: FnOnce(&S) -> String,
    F: FnOnce(String, S) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    crate::telemetry::init();
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    let settings = match load() {
        Ok(s) => s,
        Err(err) => {
            tracing::error!("{service}: {err}");
            return ExitCode::FAILURE;
        }
    };
    if command == "healthcheck" {
        return crate::healthcheck::run(&bind_addr(&settings));
    }
    match run(command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "{service} stopped");
            ExitCode::FAILURE
        }
    }
}

/// The error for a command the binary does not know.
pub fn unknown_command(command: &str, known: &str) -> anyhow::Error {
    anyhow::anyhow!("unknown command {command:?}; use {known}")
}
