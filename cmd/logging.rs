//! Log output on stderr with `tracing`: `-q` errors only, default warnings
//! (the server also logs each connection), `-v` each request (the server)
//! or step (a one-shot command), `-vv` all. `RUST_LOG` overrides the level.
//!
//! The server logs timestamped lines. A one-shot command (probe, packetize)
//! writes its warnings like its `error:` line, naming the file it works on
//! (`warning: PATH: message`), and its `-v` notes as `debug: message`.

use std::fmt;
use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// How log lines look.
pub enum Style {
    /// The server's: a timestamp, the level, the message.
    Server,
    /// A one-shot command's, about `subject` (the file it reads), if any.
    OneShot {
        /// What warnings and errors name, as the `error:` line does.
        subject: Option<String>,
    },
}

/// Installs the global subscriber for the chosen verbosity and style.
pub fn init(quiet: bool, verbose: u8, style: Style) {
    let server = matches!(style, Style::Server);
    let level = match (quiet, verbose, server) {
        (true, _, _) => "error",
        (false, 0, false) => "warn",
        (false, 0, true) => "info",
        (false, 1, _) => "debug",
        (false, _, _) => "trace",
    };
    // Other crates: their warnings by default, everything at -vv, and with
    // -q, as for ours, errors only.
    let others = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0 | 1) => "warn",
        (false, _) => level,
    };
    // The server opens files for every session: at -v its log is one line
    // per request, so the readers' own notes (how a file was detected, its
    // parameter sets), which tell a `probe -v` user how one file was read,
    // wait for -vv there.
    let media = if server && verbose == 1 {
        ",mediatool::media=info"
    } else {
        ""
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("mediatool={level}{media},{others}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match style {
        Style::Server => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .init(),
        Style::OneShot { subject } => builder
            .with_ansi(false)
            .event_format(OneShotLine { subject })
            .init(),
    }
}

/// `warning: SUBJECT: message`, `error: SUBJECT: message`, and for notes
/// below warnings `info: message`, `debug: message`, `trace: message`.
struct OneShotLine {
    subject: Option<String>,
}

impl OneShotLine {
    /// The line's prefix for an event of `level`.
    fn prefix(&self, level: Level) -> String {
        let (name, named) = match level {
            Level::ERROR => ("error", true),
            Level::WARN => ("warning", true),
            Level::INFO => ("info", false),
            Level::DEBUG => ("debug", false),
            Level::TRACE => ("trace", false),
        };
        match &self.subject {
            Some(subject) if named => format!("{name}: {subject}: "),
            _ => format!("{name}: "),
        }
    }
}

impl<S, N> FormatEvent<S, N> for OneShotLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str(&self.prefix(*event.metadata().level()))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_name_the_subject_like_errors() {
        let line = OneShotLine {
            subject: Some("in.wav".into()),
        };
        assert_eq!(line.prefix(Level::WARN), "warning: in.wav: ");
        assert_eq!(line.prefix(Level::ERROR), "error: in.wav: ");
        assert_eq!(line.prefix(Level::DEBUG), "debug: ");
        let line = OneShotLine { subject: None };
        assert_eq!(line.prefix(Level::WARN), "warning: ");
    }
}
