//! Cloud Chat's load generator: one subcommand per benchmark scenario. Progress goes to
//! stderr; the figures go to stdout as one JSON document, for `bench/run.py` to collect.
//!
//!   loadgen setup        --base URL --users N --rooms R --members M --prefix P --out FILE
//!   loadgen connections  --ws URL --users FILE --n N [--pid RELAY_PID]
//!   loadgen fanout       --ws URL[,URL] --users FILE --rates 1000,2000 [--proto nats]
//!   loadgen http         --base URL --users FILE --login-users FILE
//!   loadgen search       --base URL --users FILE --queries 'name=q=...;...'

mod args;
mod connections;
mod fanout;
mod http;
mod net;
mod search;
mod setup;
mod stats;

use std::io::Write;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        bail!("usage: loadgen <setup|connections|fanout|http|search> --option value ...");
    };
    let args = args::Args::parse(rest)?;
    // Two workers: the machine has two cores, shared with the system under test.
    let threads: usize = args.get("threads", 2)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let figures = runtime.block_on(async {
        match command.as_str() {
            "setup" => setup::run(&args).await,
            "connections" => connections::run(&args).await,
            "fanout" => fanout::run(&args).await,
            "http" => http::run(&args).await,
            "search" => search::run(&args).await,
            other => bail!("unknown scenario {other:?}"),
        }
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{figures}").context("writing the figures")?;
    Ok(())
}
