//! The `mediatool` command line: a thin front end over the library, one
//! file per subcommand.

mod completions;
mod logging;
mod man;
mod packetize;
mod probe;
mod serve;

use std::process::ExitCode;

use clap::error::ErrorKind;
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

impl Command {
    /// How the command's log lines look: the server's timestamped log, or
    /// a one-shot command's lines naming the file it reads.
    fn log_style(&self) -> logging::Style {
        let file = match self {
            Command::Serve(_) => return logging::Style::Server,
            Command::Probe(args) => Some(&args.file),
            Command::Packetize(args) => Some(&args.file),
            Command::Completions(_) | Command::Man(_) => None,
        };
        logging::Style::OneShot {
            subject: file.map(|f| f.display().to_string()),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    logging::init(cli.quiet, cli.verbose, cli.command.log_style());
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

/// Help and version go out as clap writes them; a usage error becomes the
/// contract's one `error:` line (clap's usage block and hint dropped) with
/// clap's exit status 2.
fn usage_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("error: no subcommand given (see 'mediatool --help')");
        }
        _ => eprintln!("error: {}", one_line_usage_error(&e.render().to_string())),
    }
    ExitCode::from(2)
}

/// clap's message without its `error:` prefix, `Usage:` block and `--help`
/// hint, its paragraphs joined by "; " and their lines by spaces: "the
/// following required arguments were not provided: <FILE>".
fn one_line_usage_error(rendered: &str) -> String {
    let message = rendered.trim();
    let message = message.strip_prefix("error:").unwrap_or(message);
    let paragraphs: Vec<String> = message
        .split("\n\n")
        .filter(|p| !p.starts_with("Usage:") && !p.starts_with("For more information"))
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    format!("{} (see --help)", paragraphs.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_become_one_line() {
        for args in [
            &["mediatool", "probe"][..],
            &["mediatool", "probe", "--bogus", "x"],
            &["mediatool", "probe", "--format", "xml", "f"],
            &["mediatool", "serve", "--port", "abc"],
            &["mediatool", "frob"],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            let line = one_line_usage_error(&e.render().to_string());
            assert!(!line.contains('\n'), "{args:?}: {line}");
            assert!(!line.contains("Usage:"), "{args:?}: {line}");
            assert!(!line.starts_with("error"), "{args:?}: {line}");
        }
        let e = Cli::try_parse_from(["mediatool", "probe"]).unwrap_err();
        assert!(one_line_usage_error(&e.render().to_string()).contains("<FILE>"));
    }
}
