//! Access per path: the YAML `paths:` rules, each a glob on a file's path
//! under the served directory naming who may read what it matches, and
//! the verdict for one request: allowed, credentials needed (401) or
//! forbidden to this user (403), as HTTP tells the two apart (RFC 9110
//! §15.5.2, §15.5.4; RTSP borrows them, RFC 2326 §7.1.1).
//!
//! The first rule whose glob matches decides; a path no rule matches is
//! open to any configured user (to anyone on a server without users), as
//! without rules. Globs: `*` matches within one path segment, `?` one
//! character of a segment, and `**` as a whole segment any number of
//! segments (none included); everything else is literal. Hand-written:
//! three wildcards over path segments are a few dozen lines, where
//! `globset` would bring a regex engine for them.

use serde::Deserialize;

/// One rule as written in the configuration.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    /// The glob, on the path under the directory (`cams/**`, `*.mkv`);
    /// a leading `/` is ignored.
    pub path: String,
    /// Who may read what it matches.
    pub read: Readers,
}

/// Who may read the files of a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Readers {
    /// Anyone, without credentials (`anonymous`).
    #[default]
    Anonymous,
    /// Any configured user (`authenticated`).
    Authenticated,
    /// These users only (a name or a list of names).
    Users(Vec<String>),
}

impl<'de> Deserialize<'de> for Readers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            One(String),
            Many(Vec<String>),
        }
        Ok(match Written::deserialize(deserializer)? {
            Written::One(word) if word == "anonymous" => Readers::Anonymous,
            Written::One(word) if word == "authenticated" => Readers::Authenticated,
            Written::One(name) => Readers::Users(vec![name]),
            Written::Many(names) => Readers::Users(names),
        })
    }
}

/// The verdict on one request for one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Allowed,
    /// Anonymous where a user is needed: 401 with a challenge.
    NeedsCredentials,
    /// An authenticated user the rule does not name: 403.
    Forbidden,
}

/// The rules in force, checked and compiled.
#[derive(Clone, Debug, Default)]
pub struct Access {
    rules: Vec<(Glob, Readers)>,
    /// Who may read a path no rule matches.
    default: Readers,
}

impl Access {
    /// Compiles `rules` for a server whose users are `users`: a glob that
    /// does not parse, a rule naming no one or someone who is not a user,
    /// or a rule asking for users on a server without any, is an error
    /// naming the rule.
    pub fn new(rules: &[PathRule], users: &[&str]) -> Result<Access, String> {
        let compiled = rules
            .iter()
            .map(|rule| {
                let glob =
                    Glob::parse(&rule.path).map_err(|e| format!("paths: {:?}: {e}", rule.path))?;
                match &rule.read {
                    Readers::Anonymous => {}
                    _ if users.is_empty() => {
                        return Err(format!(
                            "paths: {:?} asks for users, but no users are configured",
                            rule.path
                        ))
                    }
                    Readers::Authenticated => {}
                    Readers::Users(names) if names.is_empty() => {
                        return Err(format!("paths: {:?} names no user", rule.path))
                    }
                    Readers::Users(names) => {
                        if let Some(unknown) = names.iter().find(|n| !users.contains(&n.as_str())) {
                            return Err(format!(
                                "paths: {:?} names {unknown:?}, who is not among the users",
                                rule.path
                            ));
                        }
                    }
                }
                Ok((glob, rule.read.clone()))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Access {
            rules: compiled,
            default: if users.is_empty() {
                Readers::Anonymous
            } else {
                Readers::Authenticated
            },
        })
    }

    /// Who may read `path` (relative to the directory, `/`-separated).
    pub fn readers(&self, path: &str) -> &Readers {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.rules
            .iter()
            .find(|(glob, _)| glob.matches(&segments))
            .map_or(&self.default, |(_, readers)| readers)
    }

    /// Whether some path may be read without credentials: requests without
    /// them are then let through to the path's rule instead of being
    /// refused at once.
    pub fn anonymous_somewhere(&self) -> bool {
        self.default == Readers::Anonymous
            || self.rules.iter().any(|(_, r)| *r == Readers::Anonymous)
    }

    /// The verdict on `user` (`None`: no valid credentials) reading `path`.
    pub fn verdict(&self, path: &str, user: Option<&str>) -> Verdict {
        match (self.readers(path), user) {
            (Readers::Anonymous, _) | (Readers::Authenticated, Some(_)) => Verdict::Allowed,
            (Readers::Users(names), Some(user)) if names.iter().any(|n| n == user) => {
                Verdict::Allowed
            }
            (_, None) => Verdict::NeedsCredentials,
            (Readers::Users(_), Some(_)) => Verdict::Forbidden,
        }
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Longest glob accepted, in segments: matching costs the product of the
/// glob's and the path's segment counts.
const MAX_GLOB_SEGMENTS: usize = 64;

/// A compiled glob: its segments.
#[derive(Clone, Debug)]
struct Glob(Vec<Segment>);

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    /// `**`: any number of segments.
    Any,
    /// One segment, with `*` and `?` in it.
    One(Vec<char>),
}

impl Glob {
    fn parse(text: &str) -> Result<Glob, &'static str> {
        let segments: Vec<Segment> = text
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "**" => Ok(Segment::Any),
                s if s.contains("**") => Err("`**` must be a whole path segment"),
                s if s.contains(['[', ']', '{', '}', '\\']) => {
                    Err("only the wildcards `*`, `?` and `**` are supported")
                }
                s => Ok(Segment::One(s.chars().collect())),
            })
            .collect::<Result<_, _>>()?;
        if segments.is_empty() {
            return Err("empty glob (`**` matches everything)");
        }
        if segments.len() > MAX_GLOB_SEGMENTS {
            return Err("more than 64 path segments");
        }
        Ok(Glob(segments))
    }

    /// Whether the glob matches a path of `segments`: dynamic programming
    /// over (glob segment, path segment), so no input costs more than the
    /// product of their counts.
    fn matches(&self, segments: &[&str]) -> bool {
        let p = segments.len();
        // reach[j]: the first i glob segments can match the first j path
        // segments.
        let mut reach = vec![false; p + 1];
        reach[0] = true;
        for glob in &self.0 {
            let mut next = vec![false; p + 1];
            for j in 0..=p {
                next[j] = match glob {
                    // Zero segments, or one more than a match one shorter.
                    Segment::Any => reach[j] || (j > 0 && next[j - 1]),
                    Segment::One(pattern) => {
                        j > 0 && reach[j - 1] && segment_matches(pattern, segments[j - 1])
                    }
                };
            }
            reach = next;
        }
        reach[p]
    }
}

/// Whether one segment matches a pattern of literal characters, `*` and
/// `?`: the classic two-pointer walk, backtracking only to the last `*`
/// (linear in practice, quadratic at worst).
fn segment_matches(pattern: &[char], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(text: &str) -> Glob {
        Glob::parse(text).unwrap()
    }

    fn matches(pattern: &str, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        glob(pattern).matches(&segments)
    }

    #[test]
    fn wildcards() {
        for (pattern, path, expected) in [
            ("a.mkv", "a.mkv", true),
            ("a.mkv", "b.mkv", false),
            ("*.mkv", "a.mkv", true),
            ("*.mkv", "sub/a.mkv", false),
            ("*", "a.mkv", true),
            ("?.mkv", "a.mkv", true),
            ("?.mkv", "ab.mkv", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("a*b", "abbb", true),
            ("**", "a/b/c.mkv", true),
            ("**/*.mkv", "c.mkv", true),
            ("**/*.mkv", "a/b/c.mkv", true),
            ("**/*.mkv", "a/b/c.mp4", false),
            ("cams/**", "cams/lab/x.mkv", true),
            ("cams/**", "camsx/x.mkv", false),
            ("cams/**", "public/cams/x.mkv", false),
            ("/cams/*/x.mkv", "cams/lab/x.mkv", true),
            ("cams/*/x.mkv", "cams/lab/deep/x.mkv", false),
            ("a/**/b/**/c", "a/b/c", true),
            ("a/**/b/**/c", "a/x/y/b/z/c", true),
            ("a/**/b/**/c", "a/x/y/z/c", false),
            ("ü*", "über.wav", true),
        ] {
            assert_eq!(matches(pattern, path), expected, "{pattern} on {path}");
        }
    }

    #[test]
    fn bad_globs_are_refused() {
        for text in ["", "/", "a**", "**b/c", "[ab].mkv", "{a,b}", "a\\*"] {
            assert!(Glob::parse(text).is_err(), "{text}");
        }
        let long = vec!["a"; 65].join("/");
        assert!(Glob::parse(&long).is_err());
    }

    /// Many `**` against a long path stay cheap (no exponential search).
    #[test]
    fn matching_is_bounded() {
        let pattern = vec!["**"; 32].join("/") + "/x";
        let path = vec!["a"; 2000].join("/");
        let started = std::time::Instant::now();
        assert!(!matches(&pattern, &path));
        let star_soup = "*a".repeat(200) + "*b";
        assert!(!matches(&star_soup, &"a".repeat(2000)));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    fn rules(yaml: &[(&str, Readers)]) -> Vec<PathRule> {
        yaml.iter()
            .map(|(path, read)| PathRule {
                path: (*path).into(),
                read: read.clone(),
            })
            .collect()
    }

    #[test]
    fn first_match_decides_and_401_differs_from_403() {
        let access = Access::new(
            &rules(&[
                ("public/**", Readers::Anonymous),
                ("cams/**", Readers::Users(vec!["alice".into()])),
            ]),
            &["alice", "bob"],
        )
        .unwrap();
        use Verdict::*;
        for (path, user, verdict) in [
            ("public/a.mkv", None, Allowed),
            ("public/deep/a.mkv", Some("bob"), Allowed),
            ("cams/a.mkv", None, NeedsCredentials),
            ("cams/a.mkv", Some("bob"), Forbidden),
            ("cams/a.mkv", Some("alice"), Allowed),
            // No rule: any user.
            ("other.mkv", None, NeedsCredentials),
            ("other.mkv", Some("bob"), Allowed),
        ] {
            assert_eq!(access.verdict(path, user), verdict, "{path} {user:?}");
        }
        assert!(access.anonymous_somewhere());
        let closed = Access::new(&rules(&[("**", Readers::Authenticated)]), &["a"]).unwrap();
        assert!(!closed.anonymous_somewhere());
        assert!(Access::new(&[], &[]).unwrap().anonymous_somewhere());
    }

    #[test]
    fn rules_must_name_users_that_exist() {
        for (rule, users, named) in [
            (
                ("a/**", Readers::Users(vec!["carol".into()])),
                &["alice"][..],
                "carol",
            ),
            (
                ("a/**", Readers::Users(vec![])),
                &["alice"][..],
                "names no user",
            ),
            (("a/**", Readers::Authenticated), &[][..], "no users"),
            (("a[", Readers::Anonymous), &[][..], "wildcards"),
        ] {
            let error = Access::new(&rules(&[rule]), users).unwrap_err();
            assert!(error.contains(named), "{error}");
        }
    }

    #[test]
    fn readers_parse_from_words_or_names() {
        let parse = |yaml: &str| serde_json::from_str::<Readers>(yaml).unwrap();
        assert_eq!(parse("\"anonymous\""), Readers::Anonymous);
        assert_eq!(parse("\"authenticated\""), Readers::Authenticated);
        assert_eq!(parse("\"alice\""), Readers::Users(vec!["alice".into()]));
        assert_eq!(
            parse("[\"alice\", \"bob\"]"),
            Readers::Users(vec!["alice".into(), "bob".into()])
        );
        assert!(serde_json::from_str::<Readers>("5").is_err());
    }
}
