//! The fuzz targets' inputs replayed without libFuzzer, so that a plain
//! `cargo test` covers them: every crash the fuzzer found
//! (`fuzz/regressions/<target>/`, each fixed in the library) and every
//! committed seed (`fuzz/corpus/<target>/`), each through the same
//! function its target runs (`fuzz/fuzz_targets/common/`).

#[path = "../fuzz/fuzz_targets/common/mod.rs"]
mod fuzz_common;

use std::path::{Path, PathBuf};

use fuzz_common::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/` for each target directory there,
/// checking that each directory names a registered target.
fn inputs(kind: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(fuzz_dir().join(kind)) else {
        return out;
    };
    for dir in dirs {
        let dir = dir.unwrap().path();
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            TARGETS.iter().any(|(name, _)| *name == target),
            "fuzz/{kind}/{target}: no such fuzz target in fuzz/fuzz_targets/common/mod.rs"
        );
        for file in std::fs::read_dir(&dir).unwrap() {
            out.push((target.clone(), file.unwrap().path()));
        }
    }
    out.sort();
    out
}

/// Runs each input through its target, naming the input when it panics.
fn replay(inputs: &[(String, PathBuf)]) {
    for (target, path) in inputs {
        let data = std::fs::read(path).unwrap();
        let run = std::panic::catch_unwind(|| fuzz_common::run(target, &data));
        assert!(
            run.is_ok(),
            "fuzz target {target} fails on {}",
            path.display()
        );
    }
}

#[test]
fn every_crash_found_stays_fixed() {
    replay(&inputs("regressions"));
}

#[test]
fn every_seed_runs_clean_and_every_target_has_seeds() {
    let seeds = inputs("corpus");
    for (name, _) in TARGETS {
        assert!(
            seeds.iter().any(|(target, _)| target == name),
            "fuzz target {name} has no seed in fuzz/corpus/{name}/"
        );
    }
    replay(&seeds);
}

/// The registry and the fuzz crate's binaries name the same targets: a
/// target whose crashes `cargo test` could not replay would otherwise go
/// unnoticed.
#[test]
fn every_fuzz_binary_is_registered() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let mut bins: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|bin| {
            let line = bin.lines().find(|l| l.trim_start().starts_with("name"))?;
            line.split('"').nth(1)
        })
        .collect();
    let mut registered: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    bins.sort_unstable();
    registered.sort_unstable();
    assert_eq!(bins, registered);
    for name in bins {
        let source = std::fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{name}.rs")))
            .unwrap_or_else(|e| panic!("fuzz_targets/{name}.rs: {e}"));
        assert!(
            source.contains(&format!("common::run(\"{name}\", data)")),
            "fuzz_targets/{name}.rs does not run its registered function"
        );
    }
}
