//! The server's submodules only use those of earlier ranks in the list of
//! `src/server/mod.rs`'s docs, so the list stays true and there is no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/server");

/// The ranks of the numbered list in the module docs: `N. `name`, ...`,
/// the modules of rank N in backticks (what they use in plain text).
fn ranks() -> BTreeMap<String, usize> {
    let docs = fs::read_to_string(Path::new(SERVER).join("mod.rs")).unwrap();
    let mut ranks = BTreeMap::new();
    for line in docs.lines().filter_map(|l| l.strip_prefix("//! ")) {
        let Some((number, rest)) = line.split_once(". ") else {
            continue;
        };
        let Ok(rank) = number.parse::<usize>() else {
            continue;
        };
        for name in rest.split('`').skip(1).step_by(2) {
            assert!(
                ranks.insert(name.to_owned(), rank).is_none(),
                "{name} ranked twice"
            );
        }
    }
    assert!(ranks.len() > 10, "no rank list found: {ranks:?}");
    ranks
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and `#[cfg(test)]` items.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if skip_depth.is_none() && trimmed.starts_with("#[cfg(test)]") {
            skip_depth = Some(depth);
            continue;
        }
        let opened = line.matches('{').count() as i32 - line.matches('}').count() as i32;
        depth += opened;
        match skip_depth {
            // The item ends where its braces close (or at its `;`).
            Some(start) if depth <= start && (line.contains('}') || line.ends_with(';')) => {
                skip_depth = None;
            }
            Some(_) => {}
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The names after each `prefix` in `code`, with `prefix{a, b::c}` groups.
fn paths_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        let word: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        names.insert(word);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            names.insert(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    names
}

#[test]
fn server_modules_use_only_earlier_ranks() {
    let ranks = ranks();
    let root = Path::new(SERVER);
    let mut files = Vec::new();
    sources(root, &mut files);
    let mut checked = 0;
    for file in files {
        let relative = file.strip_prefix(root).unwrap();
        if relative == Path::new("mod.rs") {
            continue;
        }
        let mut parts = relative.components();
        let module = parts.next().unwrap().as_os_str().to_str().unwrap();
        let module = module.trim_end_matches(".rs");
        // `super` of `handlers/mod.rs` is the server; of `handlers/play.rs`,
        // `handlers`.
        let nested = parts
            .next()
            .is_some_and(|file| file.as_os_str() != "mod.rs");
        let rank = *ranks
            .get(module)
            .unwrap_or_else(|| panic!("{module} is not in src/server/mod.rs's rank list"));
        let code = code(&fs::read_to_string(&file).unwrap());
        let mut used = paths_after(&code, "crate::server::");
        used.extend(paths_after(
            &code,
            if nested { "super::super::" } else { "super::" },
        ));
        for other in used.iter().filter(|u| *u != module) {
            if let Some(&other_rank) = ranks.get(other.as_str()) {
                assert!(
                    other_rank < rank,
                    "{} uses {other} (rank {other_rank}) from rank {rank}",
                    relative.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "only {checked} uses found");
}

#[test]
fn the_reader_of_uses_sees_groups_and_skips_tests() {
    let text = "use super::{a, b::{C, D}, c};\nuse super::d::E;\n// use super::f;\n\
                #[cfg(test)]\nmod tests {\n    use super::g;\n}\nfn h() { super::i::j(); }\n";
    let names: Vec<String> = paths_after(&code(text), "super::").into_iter().collect();
    assert_eq!(names, ["a", "b", "c", "d", "i"]);
}
