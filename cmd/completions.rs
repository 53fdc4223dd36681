//! `mediatool completions SHELL`: shell completion scripts from the clap
//! model (the files in `completions/` are this command's output).

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::Cli;

/// Print a shell completion script to stdout.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Writes the completion script for the requested shell to stdout.
pub fn run(args: CompletionsArgs) -> anyhow::Result<()> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "mediatool",
        &mut std::io::stdout(),
    );
    Ok(())
}
