//! The transcript file format of `tests/transcripts/` (its README.md): a
//! header of `# key: value` lines, then requests, each after a `>>> STATUS`
//! line, stored with LF line ends and sent with CRLF (RFC 2326 §6).

use std::path::{Path, PathBuf};

/// One client's recorded (or reconstructed) request sequence.
#[derive(Debug)]
pub struct Transcript {
    /// File name without `.txt`, e.g. `ffprobe-udp`.
    pub name: String,
    /// The `# key: value` lines of the header, in order.
    pub meta: Vec<(String, String)>,
    /// The requests, in order.
    pub requests: Vec<Request>,
}

/// One request of a transcript.
#[derive(Debug, Clone)]
pub struct Request {
    /// The status the server must answer.
    pub expect: u16,
    /// The request line, then the header lines, without line ends.
    pub head: Vec<String>,
    /// The body, line ends restored to CRLF.
    pub body: Vec<u8>,
}

/// The directory of the transcripts.
pub fn directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts")
}

/// Names of every transcript file in the directory, sorted.
pub fn all_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

impl Transcript {
    /// Reads `tests/transcripts/NAME.txt`; panics with the reason when the
    /// file is malformed.
    pub fn load(name: &str) -> Transcript {
        let path = directory().join(format!("{name}.txt"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Transcript::parse(name, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Parses a transcript's text.
    pub fn parse(name: &str, text: &str) -> Result<Transcript, String> {
        if text.contains('\r') {
            return Err("line ends must be stored as LF".into());
        }
        let lines: Vec<&str> = text.lines().collect();
        let mut meta = Vec::new();
        let mut i = 0;
        while i < lines.len() && !lines[i].starts_with(">>> ") {
            let line = lines[i];
            if !(line.is_empty() || line.starts_with('#')) {
                return Err(format!("line {}: header lines start with '#'", i + 1));
            }
            if let Some((key, value)) = line.trim_start_matches('#').trim().split_once(": ") {
                if key.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !key.is_empty() {
                    meta.push((key.to_owned(), value.to_owned()));
                }
            }
            i += 1;
        }
        let mut requests = Vec::new();
        while i < lines.len() {
            let line = lines[i];
            if line.is_empty() || line.starts_with('#') {
                i += 1;
                continue;
            }
            let status = line
                .strip_prefix(">>> ")
                .and_then(|s| s.trim().parse::<u16>().ok())
                .ok_or_else(|| format!("line {}: expected '>>> STATUS'", i + 1))?;
            i += 1;
            let start = i;
            while i < lines.len() && !lines[i].is_empty() {
                if lines[i].starts_with(">>> ") {
                    return Err(format!("line {}: request header not ended", i + 1));
                }
                i += 1;
            }
            let head: Vec<String> = lines[start..i].iter().map(|l| (*l).to_owned()).collect();
            i += 1; // the empty line, which the end of the file may stand for
            let mut request = Request {
                expect: status,
                head,
                body: Vec::new(),
            };
            let length: usize = match request.header("Content-Length") {
                Some(v) => v
                    .parse()
                    .map_err(|_| format!("line {start}: Content-Length"))?,
                None => 0,
            };
            while request.body.len() < length && i < lines.len() {
                request.body.extend_from_slice(lines[i].as_bytes());
                request.body.extend_from_slice(b"\r\n");
                i += 1;
            }
            if request.body.len() != length {
                return Err(format!(
                    "line {start}: body of {} bytes, Content-Length {length}",
                    request.body.len()
                ));
            }
            if request
                .head
                .first()
                .is_none_or(|l| l.split(' ').count() != 3)
            {
                return Err(format!("line {start}: not a request line"));
            }
            requests.push(request);
        }
        if requests.is_empty() {
            return Err("no request".into());
        }
        Ok(Transcript {
            name: name.to_owned(),
            meta,
            requests,
        })
    }

    /// The value of a header key, if present.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a header key the replay needs.
    pub fn required(&self, key: &str) -> &str {
        self.meta(key)
            .unwrap_or_else(|| panic!("{}: no '# {key}:' line", self.name))
    }

    /// Every method the transcript uses.
    pub fn methods(&self) -> Vec<&str> {
        let mut methods: Vec<&str> = self.requests.iter().map(Request::method).collect();
        methods.sort_unstable();
        methods.dedup();
        methods
    }
}

impl Request {
    /// The method of the request line.
    pub fn method(&self) -> &str {
        self.head[0].split(' ').next().unwrap()
    }

    /// The URL of the request line.
    pub fn url(&self) -> &str {
        self.head[0].split(' ').nth(1).unwrap()
    }

    /// The first header `name` (case-insensitive), value trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head[1..].iter().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The bytes on the wire: every line ended by CRLF, then the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for line in &self.head {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

#[test]
fn malformed_transcripts_are_refused() {
    let ok = "# file: a.264\n>>> 200\nOPTIONS * RTSP/1.0\nCSeq: 1\n";
    assert_eq!(Transcript::parse("t", ok).unwrap().requests.len(), 1);
    let with_body = "# x\n>>> 200\nSET_PARAMETER * RTSP/1.0\nCSeq: 2\nContent-Length: 8\n\nvolume\n# after\n>>> 200\nOPTIONS * RTSP/1.0\nCSeq: 3\n\n";
    let t = Transcript::parse("t", with_body).unwrap();
    assert_eq!(t.requests[0].body, b"volume\r\n");
    assert!(t.requests[0].to_bytes().ends_with(b"\r\n\r\nvolume\r\n"));
    assert_eq!(t.requests[1].header("cseq"), Some("3"));
    for bad in [
        "# no request\n",
        "OPTIONS * RTSP/1.0\n",
        "# x\n>>> ok\nOPTIONS * RTSP/1.0\n",
        "# x\n>>> 200\nOPTIONS * RTSP/1.0\nCSeq: 1\n>>> 200\nOPTIONS * RTSP/1.0\n",
        "# x\n>>> 200\nSET_PARAMETER * RTSP/1.0\nContent-Length: 50\n\nshort\n",
        "# x\r\n>>> 200\r\nOPTIONS * RTSP/1.0\r\n",
        "# x\n>>> 200\nOPTIONS\n",
    ] {
        assert!(Transcript::parse("t", bad).is_err(), "{bad:?}");
    }
}
