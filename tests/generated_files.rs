//! The committed shell completions (`completions/`) and man pages (`man/`)
//! must be exactly what the binary generates. Regenerate them with
//! `MEDIATOOL_BLESS=1 cargo test --test generated_files`.

use std::path::Path;

use assert_cmd::Command;

const SHELLS: [(&str, &str); 5] = [
    ("bash", "mediatool.bash"),
    ("zsh", "_mediatool"),
    ("fish", "mediatool.fish"),
    ("elvish", "mediatool.elv"),
    ("powershell", "_mediatool.ps1"),
];

const SUBCOMMANDS: [&str; 5] = ["serve", "probe", "packetize", "completions", "man"];

/// Compares `args`' output with the committed file, or rewrites the file
/// when blessing; returns a description of the mismatch.
fn check(args: &[&str], committed: &str) -> Option<String> {
    let output = Command::cargo_bin("mediatool")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "mediatool {args:?} failed");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(committed);
    if std::env::var_os("MEDIATOOL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &output.stdout).unwrap();
        return None;
    }
    match std::fs::read(&path) {
        Ok(existing) if existing == output.stdout => None,
        Ok(_) => Some(format!("{committed} is stale")),
        Err(e) => Some(format!("{committed}: {e}")),
    }
}

fn assert_all_current(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{}\nregenerate with: MEDIATOOL_BLESS=1 cargo test --test generated_files",
        problems.join("\n")
    );
}

#[test]
fn completions_are_current() {
    let problems = SHELLS
        .iter()
        .filter_map(|(shell, file)| check(&["completions", shell], &format!("completions/{file}")))
        .collect();
    assert_all_current(problems);
}

#[test]
fn man_pages_are_current() {
    let mut problems: Vec<String> = check(&["man"], "man/mediatool.1").into_iter().collect();
    problems.extend(
        SUBCOMMANDS
            .iter()
            .filter_map(|sub| check(&["man", sub], &format!("man/mediatool-{sub}.1"))),
    );
    assert_all_current(problems);
}
