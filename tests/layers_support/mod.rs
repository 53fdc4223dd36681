//! The checker behind `tests/layers.rs`: which module of a source tree
//! names which, whether the top-level modules only point down the layer
//! order, and whether the files of a directory module form an import cycle.

mod paths;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use paths::Reference;

/// A source file and the library paths it names.
pub struct SourceFile {
    /// Path from the repository root (`src/media/adts.rs`).
    pub name: String,
    /// Its module path from the crate root (`["media", "adts"]`); empty
    /// for the crate root and for the binary's files.
    pub module: Vec<String>,
    /// Whether it is a file of the binary (`cmd/`).
    pub binary: bool,
    pub references: Vec<Reference>,
}

/// The library (`src/`) and binary (`cmd/`) files under `root`, and the
/// directory modules of the library with their child modules.
pub struct Tree {
    pub files: Vec<SourceFile>,
    /// Directory module path -> the names of its child modules (its files
    /// and subdirectories, `mod.rs` aside).
    pub directories: BTreeMap<Vec<String>, BTreeSet<String>>,
}

impl Tree {
    /// Reads every `.rs` file under `root/src` and `root/cmd`; the binary's
    /// files name the library `library`.
    pub fn read(root: &Path, library: &str) -> Tree {
        let mut tree = Tree {
            files: Vec::new(),
            directories: BTreeMap::new(),
        };
        tree.read_dir(root, &root.join("src"), Vec::new(), None);
        tree.read_dir(root, &root.join("cmd"), Vec::new(), Some(library));
        tree
    }

    fn read_dir(&mut self, root: &Path, dir: &Path, module: Vec<String>, binary: Option<&str>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        let mut children = BTreeSet::new();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                let mut sub = module.clone();
                sub.push(name.clone());
                children.insert(name);
                self.read_dir(root, &path, sub, binary);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut file_module = module.clone();
                if !matches!(stem, "mod" | "lib" | "main") {
                    file_module.push(stem.to_owned());
                    children.insert(stem.to_owned());
                }
                let source = std::fs::read_to_string(&path).unwrap();
                let module = if binary.is_some() {
                    Vec::new()
                } else {
                    file_module
                };
                self.files.push(SourceFile {
                    name: path
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                    references: paths::references(&source, &module, binary),
                    module,
                    binary: binary.is_some(),
                });
            }
        }
        if binary.is_none() && !module.is_empty() {
            self.directories.insert(module, children);
        }
    }
}

/// What the layer check found.
#[derive(Debug, Default)]
pub struct LayerReport {
    /// Files in no layer, paths to no known module, and imports that point
    /// up or across, each with its file and line (allowed ones left out).
    pub problems: Vec<String>,
    /// Imports from one top-level module (or the binary) into another.
    pub imports_checked: usize,
    /// Every (from, to) pair of top-level modules imported upwards or across.
    pub violations: BTreeSet<(String, String)>,
}

/// Checks that every top-level module of the library is in `layers`
/// (lowest first; the modules of one entry are peers that must not import
/// each other) and only names modules of lower layers, and that the
/// binary names only modules in the table. `allowed` pairs (from, to) are
/// reported in `violations` but are not problems.
pub fn check_layers(tree: &Tree, layers: &[&[&str]], allowed: &[(&str, &str)]) -> LayerReport {
    let layer_of = |module: &str| layers.iter().position(|group| group.contains(&module));
    let mut report = LayerReport::default();
    for file in &tree.files {
        let from = match (file.binary, file.module.first()) {
            (true, _) => None,
            // The crate root only declares the modules.
            (false, None) => continue,
            (false, Some(top)) => {
                if layer_of(top).is_none() {
                    report.problems.push(format!(
                        "{}: the module `{top}` is in no layer: place it in LAYERS",
                        file.name
                    ));
                    continue;
                }
                Some(top.as_str())
            }
        };
        for reference in &file.references {
            let Some(to) = reference.path.first() else {
                continue;
            };
            if Some(to.as_str()) == from {
                continue;
            }
            report.imports_checked += 1;
            let at = format!("{}:{}", file.name, reference.line);
            let Some(to_layer) = layer_of(to) else {
                report.problems.push(format!(
                    "{at}: `{}` names `{to}`, a module in no layer",
                    reference.path.join("::")
                ));
                continue;
            };
            let Some(from) = from else {
                continue; // the binary is above every layer
            };
            if to_layer >= layer_of(from).unwrap() {
                report.violations.insert((from.to_owned(), to.to_owned()));
                if !allowed.contains(&(from, to.as_str())) {
                    let how = if to_layer == layer_of(from).unwrap() {
                        "a peer in its own layer"
                    } else {
                        "a higher layer"
                    };
                    report.problems.push(format!(
                        "{at}: `{from}` names `{}`, in {how}",
                        reference.path.join("::")
                    ));
                }
            }
        }
    }
    report
}

/// One directory module's import graph among its children: child ->
/// The names of a directory's test-only child modules.
const TEST_MODULES: [&str; 2] = ["testing", "tests"];

/// child -> where the first reference is (file:line).
pub type SiblingGraph = BTreeMap<String, BTreeMap<String, String>>;

/// The import graph among the children of each directory module: an edge
/// from child `a` to child `b` when a file of `a` names `b` (through
/// `super::b`, `crate::dir::b`...); a path to the directory module itself
/// (an item of its `mod.rs`) is no edge. Test code is left out: a path
/// in an inline `mod tests`, or from or to a `testing` or `tests` child
/// (`#[cfg(test)]` fixtures and test files serve the tests of every
/// sibling and use what they test, outside the build).
pub fn sibling_graphs(tree: &Tree) -> BTreeMap<Vec<String>, SiblingGraph> {
    let mut graphs: BTreeMap<Vec<String>, SiblingGraph> = BTreeMap::new();
    for file in tree.files.iter().filter(|f| !f.binary) {
        for (dir, children) in &tree.directories {
            let depth = dir.len();
            if file.module.len() <= depth || !file.module.starts_with(dir) {
                continue;
            }
            let from = &file.module[depth];
            for reference in &file.references {
                if !reference.path.starts_with(dir) {
                    continue;
                }
                let Some(to) = reference.path.get(depth) else {
                    continue;
                };
                let test_code = reference.in_tests
                    || TEST_MODULES.contains(&from.as_str())
                    || TEST_MODULES.contains(&to.as_str());
                if to != from && children.contains(to) && !test_code {
                    graphs
                        .entry(dir.clone())
                        .or_default()
                        .entry(from.clone())
                        .or_default()
                        .entry(to.clone())
                        .or_insert_with(|| format!("{}:{}", file.name, reference.line));
                }
            }
        }
    }
    graphs
}

/// `dir::from` -> `dir::to`, as the allow-list writes an edge.
pub fn edge_name(dir: &[String], from: &str, to: &str) -> (String, String) {
    let prefix = dir.join("::");
    (format!("{prefix}::{from}"), format!("{prefix}::{to}"))
}

/// The cycles among siblings once the `allowed` edges are left out, each
/// written as its path with where each edge is made; and every edge that
/// lies on a cycle of the whole graph (the allow-list's candidates).
pub fn sibling_cycles(
    graphs: &BTreeMap<Vec<String>, SiblingGraph>,
    allowed: &[(&str, &str)],
) -> (Vec<String>, BTreeSet<(String, String)>) {
    let mut problems = Vec::new();
    let mut on_cycles = BTreeSet::new();
    for (dir, graph) in graphs {
        for (from, targets) in graph {
            for to in targets.keys() {
                if path_between(graph, to, from, &BTreeSet::new()).is_some() {
                    on_cycles.insert(edge_name(dir, from, to));
                }
            }
        }
        let skipped: BTreeSet<(String, String)> = graph
            .iter()
            .flat_map(|(from, targets)| targets.keys().map(move |to| (from.clone(), to.clone())))
            .filter(|(from, to)| {
                let (f, t) = edge_name(dir, from, to);
                allowed.contains(&(f.as_str(), t.as_str()))
            })
            .collect();
        // One cycle per node that is on one, each cycle reported once.
        let mut seen = BTreeSet::new();
        for start in graph.keys() {
            let Some(cycle) = cycle_through(graph, start, &skipped) else {
                continue;
            };
            let mut key = cycle[..cycle.len() - 1].to_vec();
            key.sort();
            if !seen.insert(key) {
                continue;
            }
            let edges: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} -> {} at {}", w[0], w[1], graph[&w[0]][&w[1]]))
                .collect();
            problems.push(format!(
                "src/{}/: import cycle {} ({})",
                dir.join("/"),
                cycle.join(" -> "),
                edges.join("; ")
            ));
        }
    }
    (problems, on_cycles)
}

/// A cycle from `start` back to it, as the list of its nodes (`start`
/// first and last), not using the `skipped` edges.
fn cycle_through(
    graph: &SiblingGraph,
    start: &str,
    skipped: &BTreeSet<(String, String)>,
) -> Option<Vec<String>> {
    graph.get(start)?.keys().find_map(|next| {
        if skipped.contains(&(start.to_owned(), next.clone())) {
            return None;
        }
        let mut path = path_between(graph, next, start, skipped)?;
        path.insert(0, start.to_owned());
        Some(path)
    })
}

/// The shortest path of nodes from `from` to `to` (both included), not
/// using the `skipped` edges.
fn path_between(
    graph: &SiblingGraph,
    from: &str,
    to: &str,
    skipped: &BTreeSet<(String, String)>,
) -> Option<Vec<String>> {
    let mut previous: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from.to_owned()]);
    let mut visited = BTreeSet::from([from.to_owned()]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = vec![node];
            while let Some(p) = previous.get(path.last().unwrap()) {
                path.push(p.clone());
            }
            path.reverse();
            return Some(path);
        }
        for next in graph.get(&node).into_iter().flat_map(|t| t.keys()) {
            if skipped.contains(&(node.clone(), next.clone())) || !visited.insert(next.clone()) {
                continue;
            }
            previous.insert(next.clone(), node.clone());
            queue.push_back(next.clone());
        }
    }
    None
}
