//! The module paths a Rust source file names: `crate::x::y`, `super::x`,
//! `self::x` (and, in the binary, `mediatool::x`) anywhere in its code,
//! with `use` trees expanded (`crate::{a, b::{c, d}}`), comments, doc
//! comments, strings and character literals left out.
//!
//! Written by hand: a full parser (`syn`) is not among the vetted crates,
//! and only the shape of paths matters here, which a small tokenizer finds.

/// A path as written, resolved against the module it appears in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The absolute module path named, from the crate root (`["media",
    /// "adts", "AdtsReader"]`; items and modules alike).
    pub path: Vec<String>,
    /// 1-based line of the path's first segment.
    pub line: usize,
    /// Whether it is inside an inline `mod tests { ... }` (unit tests,
    /// built only for `cargo test`).
    pub in_tests: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Other,
}

struct Token {
    tok: Tok,
    line: usize,
}

/// Every path into the library in `source`. In a file of the library
/// (`binary` is `None`) of the module `module` (its path from the crate
/// root): the paths from the crate root (`crate`, `$crate`), from the
/// module (`self`) or from a parent (`super`); inline modules (`mod tests
/// { ... }`) are followed, so `super` inside one is the file's own module.
/// In a file of a binary: the paths from the library's name, `binary`
/// (its own `crate::` paths are not the library's).
pub fn references(source: &str, module: &[String], binary: Option<&str>) -> Vec<Reference> {
    let tokens = tokenize(source);
    let mut out = Vec::new();
    // Inline modules we are in, with the brace depth their body opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].tok {
            Tok::Open => depth += 1,
            Tok::Close => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(word) if word == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) = (
                    tokens.get(i + 1).map(|t| &t.tok),
                    tokens.get(i + 2).map(|t| &t.tok),
                ) {
                    inline.push((name.clone(), depth + 1));
                }
            }
            Tok::Ident(word) => {
                let starts_path = match binary {
                    None => matches!(word.as_str(), "crate" | "super" | "self"),
                    Some(library) => word == library,
                };
                let after_sep = i > 0 && tokens[i - 1].tok == Tok::PathSep;
                if starts_path
                    && !after_sep
                    && tokens.get(i + 1).map(|t| &t.tok) == Some(&Tok::PathSep)
                {
                    let here: Vec<String> = module
                        .iter()
                        .cloned()
                        .chain(inline.iter().map(|(name, _)| name.clone()))
                        .collect();
                    if let Some((written, next)) = use_tree(&tokens, i, Vec::new()) {
                        let line = tokens[i].line;
                        let in_tests = inline.iter().any(|(name, _)| name == "tests");
                        out.extend(
                            written
                                .iter()
                                .filter_map(|w| resolve(w, &here))
                                .map(|path| Reference {
                                    path,
                                    line,
                                    in_tests,
                                }),
                        );
                        // The tree's braces are balanced: skip it whole.
                        i = next;
                        continue;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The paths of the use tree (or plain path) starting at token `i`, each
/// prefixed by `prefix`, and the index after it; `None` when the tokens do
/// not form one (left to the caller to step over).
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    mut prefix: Vec<String>,
) -> Option<(Vec<Vec<String>>, usize)> {
    loop {
        match tokens.get(i).map(|t| &t.tok) {
            Some(Tok::Ident(segment)) => {
                prefix.push(segment.clone());
                i += 1;
            }
            Some(Tok::Open) => {
                // A group: `{a, b::c, self}` after `::`.
                let mut paths = Vec::new();
                i += 1;
                loop {
                    match tokens.get(i).map(|t| &t.tok) {
                        Some(Tok::Close) => return Some((paths, i + 1)),
                        Some(Tok::Comma) => i += 1,
                        Some(Tok::Ident(_)) | Some(Tok::Open) => {
                            let (inner, next) = use_tree(tokens, i, prefix.clone())?;
                            paths.extend(inner);
                            i = next;
                        }
                        // `*`, `as` renames end up here as Other or an ident.
                        Some(Tok::Other) => i += 1,
                        _ => return None,
                    }
                }
            }
            _ => return None,
        }
        if tokens.get(i).map(|t| &t.tok) != Some(&Tok::PathSep) {
            // `x as y`: the rename is not a path.
            if let Some(Tok::Ident(word)) = tokens.get(i).map(|t| &t.tok) {
                if word == "as" {
                    i += 2;
                }
            }
            return Some((vec![prefix], i));
        }
        i += 1;
    }
}

/// `written` (as in the source) as an absolute path from the crate root,
/// in the module `here`; `None` for a `super` above the root. A first
/// segment other than `self` and `super` is the root's name.
fn resolve(written: &[String], here: &[String]) -> Option<Vec<String>> {
    let (first, rest) = written.split_first()?;
    let mut path: Vec<String> = match first.as_str() {
        "self" => here.to_vec(),
        "super" => {
            let mut up = here.to_vec();
            up.pop()?;
            up
        }
        _ => Vec::new(),
    };
    let mut rest = rest.iter().peekable();
    while rest.peek().is_some_and(|s| *s == "super") {
        path.pop()?;
        rest.next();
    }
    // `self` in a group names the group's prefix itself.
    path.extend(rest.filter(|s| *s != "self").cloned());
    Some(path)
}

/// The tokens of `source` that matter for paths, comments, strings and
/// character literals left out.
fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        let mut push = |tok: Tok| {
            tokens.push(Token {
                tok,
                line: start_line,
            })
        };
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut nesting = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    nesting += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    nesting -= 1;
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(&chars, i) {
            line += chars[i..end].iter().filter(|&&c| c == '\n').count();
            i = end;
        } else if c == '"' || (c == 'b' || c == 'c') && at(i + 1) == '"' {
            i += if c == '"' { 1 } else { 2 };
            while i < chars.len() && chars[i] != '"' {
                line += usize::from(chars[i] == '\n');
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            // A character literal, or a lifetime or label (`'a`).
            let open = if c == '\'' { i } else { i + 1 };
            if at(open + 1) == '\\' {
                // Past the backslash and the character it escapes.
                i = open + 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(open + 2) == '\'' {
                i = open + 3;
            } else {
                i = open + 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let mut end = i;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            // `r#type`: a raw identifier.
            if end == i + 1 && c == 'r' && at(end) == '#' {
                i = end + 1;
                continue;
            }
            push(Tok::Ident(chars[i..end].iter().collect()));
            i = end;
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            push(Tok::Other);
        } else {
            match c {
                ':' if at(i + 1) == ':' => {
                    push(Tok::PathSep);
                    i += 1;
                }
                '{' => push(Tok::Open),
                '}' => push(Tok::Close),
                ',' => push(Tok::Comma),
                // `$crate` is `crate`.
                '$' => {}
                _ => push(Tok::Other),
            }
            i += 1;
        }
    }
    tokens
}

/// The index after a raw string (`r"..."`, `r#"..."#`, `br#"..."#`)
/// starting at `i`, if one does.
fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if chars.get(j) == Some(&'b') || chars.get(j) == Some(&'c') {
        j += 1;
    }
    if chars.get(j) != Some(&'r')
        || (i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
    {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    j += hashes;
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"'
            && chars[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(source: &str, module: &[&str], binary: Option<&str>) -> Vec<String> {
        let module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
        references(source, &module, binary)
            .into_iter()
            .map(|r| format!("{}:{}", r.line, r.path.join("::")))
            .collect()
    }

    #[test]
    fn finds_paths_in_use_trees_and_code_but_not_in_comments_or_strings() {
        let source = r##"
//! crate::doc::comment
use crate::{a::{B, c::D}, e};
use super::{self, f as g};
/* crate::block /* nested crate::x */ still */
fn h() -> crate::i::J<'static> { let s = "crate::string\\"; let r = r#"crate::raw"#; let c = ('"', '\'', '{', b'\\'); $crate::k::l(); }
mod tests { use super::m; }
pub(crate) fn n() { mediatool::o::p(); self::q(); }
"##;
        assert_eq!(
            paths(source, &["top", "file"], None),
            [
                "3:a::B",
                "3:a::c::D",
                "3:e",
                "4:top",
                "4:top::f",
                "6:i::J",
                "6:k::l",
                "7:top::file::m",
                "8:top::file::q",
            ]
        );
        // In the binary only the library's name counts.
        assert_eq!(paths(source, &[], Some("mediatool")), ["8:o::p"]);
    }

    #[test]
    fn super_above_the_root_is_no_path() {
        assert!(paths("use super::super::x;", &["top"], None).is_empty());
        assert_eq!(
            paths("use super::super::x;", &["top", "file"], None),
            ["1:x"]
        );
    }
}
