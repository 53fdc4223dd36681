//! `mediatool man [SUBCOMMAND]`: man pages (roff) from the clap model (the
//! files in `man/` are this command's output).

use anyhow::Context;
use clap::{Args, CommandFactory};

use crate::Cli;

/// Print the man page (roff) to stdout.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Print the page of this subcommand (mediatool-SUBCOMMAND(1)) instead.
    subcommand: Option<String>,
}

/// Renders `mediatool(1)` or `mediatool-SUBCOMMAND(1)` to stdout.
///
/// The pages leave out clap's `help` subcommand: it has no page of its
/// own (`mediatool help` still works), and mediatool(1) must list only
/// pages that exist.
pub fn run(args: ManArgs) -> anyhow::Result<()> {
    let cli = Cli::command().disable_help_subcommand(true);
    let page = match &args.subcommand {
        None => cli,
        Some(name) => {
            let sub = cli
                .find_subcommand(name)
                .with_context(|| format!("no subcommand named {name:?}"))?
                .clone();
            sub.name(format!("mediatool-{name}"))
                .version(env!("CARGO_PKG_VERSION"))
        }
    };
    clap_mangen::Man::new(page).render(&mut std::io::stdout())?;
    Ok(())
}
