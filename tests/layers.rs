//! The library's layers only point down, and the files of a directory
//! module form no import cycle: read from the source tree, so the order
//! stays true as code moves.
//!
//! A module may name (`use crate::x`, or a `crate::x::`, `super::` path
//! anywhere in its code) only modules of lower layers; the binary
//! (`cmd/`, through `mediatool::x`) may name any of them. Every file under
//! `src/` must belong to a layer of [`LAYERS`], so a new top-level module
//! is placed in the order before it lands.

mod layers_support;

use std::collections::BTreeMap;
use std::path::Path;

use layers_support::{check_layers, sibling_cycles, sibling_graphs, Tree};

/// The top-level modules of `src/`, lowest first; the modules of one entry
/// are peers that must not import each other. `cmd/` (the binary) is above
/// them all. A module that does not exist yet holds its place.
const LAYERS: &[&[&str]] = &[
    // Shared vocabulary: rationals, timestamps, codec and track kinds.
    &["vocab"],
    // Bitstream syntax: NAL units, parameter sets, audio headers.
    &["codec"],
    // File readers (demuxers) and format detection.
    &["media"],
    // RTP payload formats, the RTP sender, RTCP.
    &["rtp"],
    // SRTP/SRTCP protection and its key exchanges (MIKEY, SDES).
    &["srtp"],
    // Session descriptions.
    &["sdp"],
    // The pipeline: demuxer -> payload formats -> timed packets.
    &["stream"],
    // RTSP messages and headers, shared by the server and the captures.
    &["rtsp"],
    // The jobs: the probe report, capture files, the RTSP server.
    &["probe", "pcap", "server"],
];

/// Imports allowed to break the order, as (from, to) pairs: top-level
/// modules for a layer, `dir::child` paths for an edge of an import cycle
/// among a directory's files. Empty: the order holds. An entry is for a
/// move in progress, with its reason; a test fails once it is fixed.
const KNOWN_VIOLATIONS: &[(&str, &str)] = &[];

fn tree() -> Tree {
    Tree::read(Path::new(env!("CARGO_MANIFEST_DIR")), "mediatool")
}

#[test]
fn layers_only_point_down() {
    let report = check_layers(&tree(), LAYERS, KNOWN_VIOLATIONS);
    assert!(
        report.problems.is_empty(),
        "{} import(s) against the layer order (lowest first: {LAYERS:?}):\n{}",
        report.problems.len(),
        report.problems.join("\n")
    );
    // Not vacuous: the library's modules do import one another.
    assert!(
        report.imports_checked >= 100,
        "only {} imports between modules found: is the source tree read?",
        report.imports_checked
    );
}

#[test]
fn sibling_files_form_no_import_cycle() {
    let graphs = sibling_graphs(&tree());
    let (problems, _) = sibling_cycles(&graphs, KNOWN_VIOLATIONS);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let edges: usize = graphs
        .values()
        .flat_map(|g| g.values())
        .map(|t| t.len())
        .sum();
    assert!(
        edges >= 20,
        "only {edges} imports between sibling files found"
    );
}

/// The ranks of the numbered list in `src/server/mod.rs`'s docs
/// (`N. `name`, ...`): the server's files in the order they may use one
/// another, so the list the docs give stays true.
fn server_ranks() -> BTreeMap<String, usize> {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/server/mod.rs")).unwrap();
    let mut ranks = BTreeMap::new();
    for line in docs.lines().filter_map(|l| l.strip_prefix("//! ")) {
        let Some((number, rest)) = line.split_once(". ") else {
            continue;
        };
        let Ok(rank) = number.parse::<usize>() else {
            continue;
        };
        // The modules of a rank are in backticks; what they use is plain.
        let names = rest.split(':').next().unwrap_or(rest);
        for name in names.split('`').skip(1).step_by(2) {
            assert!(
                ranks.insert(name.to_owned(), rank).is_none(),
                "{name} ranked twice"
            );
        }
    }
    ranks
}

#[test]
fn server_files_use_only_earlier_ranks_of_its_docs() {
    let ranks = server_ranks();
    let graphs = sibling_graphs(&tree());
    let graph = &graphs[&vec!["server".to_owned()]];
    let mut checked = 0;
    for (from, uses) in graph {
        let rank = ranks
            .get(from)
            .unwrap_or_else(|| panic!("server::{from} is not in src/server/mod.rs's rank list"));
        for (to, place) in uses {
            let to_rank = ranks
                .get(to)
                .unwrap_or_else(|| panic!("server::{to} is not in src/server/mod.rs's rank list"));
            assert!(
                to_rank < rank,
                "{place}: server::{from} (rank {rank}) uses server::{to} (rank {to_rank})"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} uses between the server's files found"
    );
}

#[test]
fn every_known_violation_is_still_one() {
    let tree = tree();
    let layers = check_layers(&tree, LAYERS, KNOWN_VIOLATIONS);
    let (_, on_cycles) = sibling_cycles(&sibling_graphs(&tree), KNOWN_VIOLATIONS);
    let fixed: Vec<String> = KNOWN_VIOLATIONS
        .iter()
        .map(|&(from, to)| (from.to_owned(), to.to_owned()))
        .filter(|pair| !layers.violations.contains(pair) && !on_cycles.contains(pair))
        .map(|(from, to)| format!("({from:?}, {to:?})"))
        .collect();
    assert!(
        fixed.is_empty(),
        "fixed, so remove from KNOWN_VIOLATIONS: {}",
        fixed.join(", ")
    );
}

/// The checker on a tiny tree: it finds an upward import, a peer import, a
/// sibling cycle, a file in no layer and a stale allow-list entry, and
/// passes the same tree once they are fixed.
#[test]
fn the_checker_finds_upward_imports_and_sibling_cycles() {
    let root = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("src/lib.rs", "pub mod low;\npub mod high;\npub mod peer;\n");
    write(
        "src/low.rs",
        "//! Not an import: crate::high::Thing\n\
         /// Nor this: `crate::peer::X`\n\
         pub fn f() -> &'static str { \"crate::high::Thing\" }\n\
         pub fn g() -> crate::high::Thing { todo!() }\n",
    );
    write(
        "src/high/mod.rs",
        "mod a;\nmod b;\nmod c;\npub struct Thing;\nuse crate::low::f;\n",
    );
    write(
        "src/high/a.rs",
        "use super::{b::B, Thing};\npub struct A;\n",
    );
    write("src/high/b.rs", "use super::c::C;\npub struct B;\n");
    write("src/high/c.rs", "pub struct C(super::a::A);\n");
    write("src/peer.rs", "use crate::{low, high::Thing};\n");
    write(
        "cmd/main.rs",
        "use mediatool::{high, low::f};\nmod crate_only { use crate::x; }\n",
    );
    let layers: &[&[&str]] = &[&["low"], &["high", "peer"]];

    let tree = Tree::read(root.path(), "mediatool");
    let report = check_layers(&tree, layers, &[]);
    assert_eq!(
        report.problems,
        [
            "src/low.rs:4: `low` names `high::Thing`, in a higher layer",
            "src/peer.rs:1: `peer` names `high::Thing`, in a peer in its own layer",
        ]
    );
    // peer -> low, peer -> high, low -> high, high -> low, cmd -> high, cmd -> low.
    assert_eq!(report.imports_checked, 6);
    let (cycles, on_cycles) = sibling_cycles(&sibling_graphs(&tree), &[]);
    assert_eq!(
        cycles,
        [
            "src/high/: import cycle a -> b -> c -> a (a -> b at src/high/a.rs:1; \
          b -> c at src/high/b.rs:1; c -> a at src/high/c.rs:1)"
        ]
    );
    assert!(on_cycles.contains(&("high::c".to_owned(), "high::a".to_owned())));

    // Allowed, they are no problem; a file in no layer is.
    let allowed = [("low", "high"), ("peer", "high"), ("high::c", "high::a")];
    let report = check_layers(&tree, &[&["low"], &["high"]], &allowed);
    assert_eq!(
        report.problems,
        ["src/peer.rs: the module `peer` is in no layer: place it in LAYERS"]
    );
    assert!(sibling_cycles(&sibling_graphs(&tree), &allowed)
        .0
        .is_empty());

    // Fixed: no problem, and the allow-list's entries are stale.
    write("src/low.rs", "pub fn f() {}\n");
    write("src/peer.rs", "use crate::low;\n");
    write("src/high/c.rs", "pub struct C;\n");
    let tree = Tree::read(root.path(), "mediatool");
    let report = check_layers(&tree, layers, &[]);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.violations.is_empty());
    let (cycles, on_cycles) = sibling_cycles(&sibling_graphs(&tree), &[]);
    assert!(cycles.is_empty() && on_cycles.is_empty(), "{cycles:?}");
}
