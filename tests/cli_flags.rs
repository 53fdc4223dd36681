//! The contract's common flags: every subcommand (as the binary's clap
//! model lists them) takes `-h/--help`, `-q/--quiet` and `-v/--verbose`
//! (repeatable).

mod common;

use assert_cmd::Command;
use common::Bounded;

#[test]
fn every_subcommand_takes_help_quiet_and_verbose() {
    for sub in common::subcommands() {
        for flags in [
            &["-h"][..],
            &["--help"],
            &["-q", "-h"],
            &["--quiet", "--help"],
            &["-v", "-h"],
            &["-vv", "-h"],
            &["--verbose", "--verbose", "--help"],
        ] {
            let out = Command::cargo_bin("mediatool")
                .unwrap()
                .arg(&sub)
                .args(flags)
                .output_bounded();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "mediatool {sub} {flags:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                stdout.contains(&format!("Usage: mediatool {sub}")),
                "mediatool {sub} {flags:?}: {stdout}"
            );
        }
    }
}
