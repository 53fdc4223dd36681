//! The `mediatool` command line: a thin front end over the library, one
//! file per subcommand.

mod completions;
mod logging;
mod man;
mod packetize;
mod probe;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Stream media files over RTSP/RTP: an on-demand RTSP server, a prober and
/// an RTP packetizer sharing one media core.
#[derive(Debug, Parser)]
#[command(name = "mediatool", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more: -v for each request or step, -vv for everything.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Serve(serve::ServeArgs),
    Probe(probe::ProbeArgs),
    Packetize(packetize::PacketizeArgs),
    Completions(completions::CompletionsArgs),
    Man(man::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(
        cli.quiet,
        cli.verbose,
        matches!(cli.command, Command::Serve(_)),
    );
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Packetize(args) => packetize::run(args, cli.quiet),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`mediatool man | head`) is the reader's choice, not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // One line, whatever the error's chain: `{:#}` joins causes with ": ".
            let message = format!("{e:#}").replace(['\n', '\r'], " ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
