//! Replays the client transcripts of `tests/transcripts/` (format and
//! provenance in its README.md) against `mediatool serve`, request by
//! request on one connection, and checks every answer: the status the client
//! needs, then what that client reads from it (`checks` for all clients,
//! `live555` and `media3` for the clients whose parsers are stricter), and
//! the first RTP packet after PLAY (`rtp`). Only what differs between runs
//! is rewritten: the server's address, the session id, client ports and the
//! Digest nonce and response.

mod checks;
mod digest;
mod live555;
mod media3;
mod rtp;
mod transcript;

use std::collections::HashMap;
use std::net::UdpSocket;

use crate::serve_common::{Reply, Rtsp, TestServer};

use checks::Description;
use digest::Challenge;
pub use transcript::all_names;
use transcript::{Request, Transcript};

/// Replays `tests/transcripts/NAME.txt` against a server of its fixture and
/// fails with every problem found.
pub fn replay(name: &str) {
    replay_transcript(&Transcript::load(name));
}

/// Replays the transcript `text` (made by a test rather than read from a
/// file; `name` says whose requirements apply, as a file name would).
pub fn replay_text(name: &str, text: &str) {
    let transcript = Transcript::parse(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
    replay_transcript(&transcript);
}

/// Replays `transcript` against a server of its fixture and fails with
/// every problem found.
fn replay_transcript(transcript: &Transcript) {
    let file = transcript.required("file");
    let mut args = Vec::new();
    if let Some(auth) = transcript.meta("auth") {
        args.extend(["--user", auth]);
    }
    let server = TestServer::start(&[(file, file)], &args);
    let failures = Replay::new(transcript, &server).run();
    server.assert_no_failures(&failures);
}

/// Whose own requirements apply on top of everyone's, by transcript name.
#[derive(Clone, Copy, PartialEq)]
enum Client {
    Other,
    Live555,
    Media3,
}

/// A track set up during the replay.
struct SetUp {
    /// Index of the track in the DESCRIBE.
    track: usize,
    /// The SETUP's URL.
    url: String,
    /// The ssrc the SETUP answer gave.
    ssrc: Option<u32>,
    /// Where its RTP arrives.
    lower: Lower,
}

/// The lower transport of a track set up.
enum Lower {
    /// The RTP and RTCP sockets the test bound (RTCP kept open so the
    /// server's reports are received, not refused).
    Udp { rtp: UdpSocket, _rtcp: UdpSocket },
    /// The RTP channel.
    Tcp(u8),
}

/// The state of one replay.
struct Replay<'a> {
    transcript: &'a Transcript,
    client: Client,
    connection: Rtsp,
    recorded_authority: String,
    authority: String,
    description: Option<Description>,
    /// The URL the client described: Media3's session URI.
    session_uri: Option<String>,
    challenges: Vec<Challenge>,
    /// Recorded session id → the server's.
    sessions: HashMap<String, String>,
    last_session: Option<String>,
    pending_udp: Option<(UdpSocket, UdpSocket)>,
    set_up: Vec<SetUp>,
    played: bool,
    /// How far after npt 0 each streamed track's first unit is, on its RTP
    /// clock, in SDP order (a track may start after the others).
    starts: Vec<u32>,
}

impl<'a> Replay<'a> {
    fn new(transcript: &'a Transcript, server: &TestServer) -> Replay<'a> {
        let client = match transcript.name.split('-').next() {
            Some("openrtsp" | "vlc") => Client::Live555,
            Some("exoplayer") => Client::Media3,
            _ => Client::Other,
        };
        Replay {
            transcript,
            client,
            connection: server.connect(),
            recorded_authority: transcript.required("server").to_owned(),
            authority: format!("127.0.0.1:{}", server.port),
            description: None,
            session_uri: None,
            challenges: Vec::new(),
            sessions: HashMap::new(),
            last_session: None,
            pending_udp: None,
            set_up: Vec::new(),
            played: false,
            starts: rtp::start_offsets(
                &crate::common::fixtures().join(transcript.required("file")),
            ),
        }
    }

    /// Sends every request and checks its answer; stops at a wrong status.
    fn run(mut self) -> Vec<String> {
        let mut failures = Vec::new();
        for (i, recorded) in self.transcript.requests.iter().enumerate() {
            let context = format!(
                "{} request {} ({} CSeq {})",
                self.transcript.name,
                i + 1,
                recorded.method(),
                recorded.header("CSeq").unwrap_or("none")
            );
            let request = match self.rewrite(recorded) {
                Ok(request) => request,
                Err(e) => {
                    failures.push(format!("{context}: {e}"));
                    break;
                }
            };
            self.connection.send(&request.to_bytes());
            let Some(reply) = self.connection.read_reply() else {
                failures.push(format!("{context}: the server closed the connection"));
                break;
            };
            if reply.status != request.expect {
                failures.push(format!(
                    "{context}: status {} where the client needs {}\nrequest:\n{}\nanswer: {reply:?}",
                    reply.status,
                    request.expect,
                    String::from_utf8_lossy(&request.to_bytes())
                ));
                break;
            }
            for problem in self.check(&request, &reply) {
                failures.push(format!("{context}: {problem}"));
            }
        }
        failures
    }

    /// The recorded request with this run's address, session, client ports
    /// and Digest answer.
    fn rewrite(&mut self, recorded: &Request) -> Result<Request, String> {
        let mut request = recorded.clone();
        for line in &mut request.head {
            *line = line.replace(&self.recorded_authority, &self.authority);
        }
        let method = request.method().to_owned();
        for line in request.head.iter_mut().skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            let new = match name.trim().to_ascii_lowercase().as_str() {
                "session" => Some(self.live_session(value)?),
                "transport" if value.contains("client_port=") => Some(self.client_ports(value)),
                "authorization" => Some(self.authorization(value, &method)?),
                _ => None,
            };
            if let Some(new) = new {
                *line = format!("{name}: {new}");
            }
        }
        Ok(request)
    }

    /// The server's id for a recorded session id: the first unknown one is
    /// the session the last SETUP answer gave.
    fn live_session(&mut self, recorded: &str) -> Result<String, String> {
        let (id, rest) = recorded.split_once(';').unwrap_or((recorded, ""));
        let live = match self.sessions.get(id) {
            Some(live) => live.clone(),
            None => {
                let live = self
                    .last_session
                    .clone()
                    .ok_or("a request names a session before any SETUP answer gave one")?;
                self.sessions.insert(id.to_owned(), live.clone());
                live
            }
        };
        Ok(if rest.is_empty() {
            live
        } else {
            format!("{live};{rest}")
        })
    }

    /// The Transport with a UDP port pair bound for this run.
    fn client_ports(&mut self, value: &str) -> String {
        let (rtp, rtcp) = udp_pair();
        let port = rtp.local_addr().unwrap().port();
        let start = value.find("client_port=").unwrap() + "client_port=".len();
        let end = value[start..]
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .map_or(value.len(), |n| start + n);
        self.pending_udp = Some((rtp, rtcp));
        format!("{}{port}-{}{}", &value[..start], port + 1, &value[end..])
    }

    /// The recorded Digest answer recomputed for the challenge this client
    /// picks (`# challenge:`; by default the one of the recorded algorithm).
    fn authorization(&self, recorded: &str, method: &str) -> Result<String, String> {
        let (_, password) = self
            .transcript
            .required("auth")
            .split_once(':')
            .ok_or("'# auth:' is not NAME:PASSWORD")?;
        let algorithm = recorded
            .strip_prefix("Digest ")
            .map(digest::params)
            .transpose()?
            .and_then(|p| {
                p.into_iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("algorithm"))
            })
            .map_or("MD5".to_owned(), |(_, v)| v.to_uppercase());
        let challenge = match self.transcript.meta("challenge") {
            Some("first") => self.challenges.first(),
            Some("last") => self.challenges.last(),
            Some(other) => return Err(format!("'# challenge: {other}' is not first or last")),
            None => self.challenges.iter().find(|c| c.algorithm == algorithm),
        }
        .ok_or_else(|| format!("no {algorithm} challenge to answer: {:?}", self.challenges))?;
        digest::answer(recorded, challenge, method, password)
    }

    /// Everything this client needs of the answer to `request`.
    fn check(&mut self, request: &Request, reply: &Reply) -> Vec<String> {
        let mut problems = checks::cseq(request, reply);
        match (reply.status, request.method()) {
            (401, _) => match Challenge::all(reply.all("WWW-Authenticate")) {
                Ok(challenges) if !challenges.is_empty() => {
                    match self.client {
                        Client::Live555 => problems.extend(live555::unauthorized(&challenges)),
                        Client::Media3 => problems.extend(media3::unauthorized(&challenges)),
                        Client::Other => {}
                    }
                    self.challenges = challenges;
                }
                Ok(_) => problems.push("401 without a Digest challenge".into()),
                Err(e) => problems.push(e),
            },
            (200, "OPTIONS") => problems.extend(checks::options(reply, &self.transcript.methods())),
            (200, "DESCRIBE") => {
                let (found, description) = checks::describe(reply, &self.authority);
                problems.extend(found);
                match (self.client, &description) {
                    (Client::Media3, _) => problems.extend(media3::describe(reply)),
                    (Client::Live555, Some(d)) => problems.extend(live555::describe(&d.base)),
                    _ => {}
                }
                self.session_uri = Some(request.url().to_owned());
                self.description = description;
            }
            (200, "SETUP") => problems.extend(self.check_setup(request, reply)),
            (200, "PLAY") => problems.extend(self.check_play(request, reply)),
            (200, "PAUSE") => problems.extend(checks::session_echo(request, reply)),
            _ => {}
        }
        problems
    }

    /// SETUP: the common checks, Media3's Session pattern; remembers the track.
    fn check_setup(&mut self, request: &Request, reply: &Reply) -> Vec<String> {
        let tracks = self
            .description
            .as_ref()
            .map_or(Vec::new(), |d| d.tracks.clone());
        let (mut problems, session, ssrc) = checks::setup(request, reply, &tracks);
        if self.client == Client::Media3 {
            problems.extend(media3::setup(reply));
        }
        if session.is_some() {
            self.last_session = session;
        }
        let lower = match self.pending_udp.take() {
            Some((rtp, rtcp)) => Some(Lower::Udp { rtp, _rtcp: rtcp }),
            None => reply
                .header("Transport")
                .map(checks::transport)
                .and_then(|(_, params)| {
                    let (_, channels) = params.into_iter().find(|(k, _)| k == "interleaved")?;
                    let (rtp, _) = channels.split_once('-').unwrap_or((&channels, ""));
                    rtp.parse().ok()
                })
                .map(Lower::Tcp),
        };
        if let (Some(track), Some(lower)) = (tracks.iter().position(|t| t == request.url()), lower)
        {
            self.set_up.push(SetUp {
                track,
                url: request.url().to_owned(),
                ssrc,
                lower,
            });
        }
        problems
    }

    /// PLAY: the common checks, Media3's reading of Range and RTP-Info, and
    /// after the first PLAY the first RTP packet of every track.
    fn check_play(&mut self, request: &Request, reply: &Reply) -> Vec<String> {
        let urls: Vec<String> = self.set_up.iter().map(|s| s.url.clone()).collect();
        let (mut problems, entries) = checks::play(request, reply, &urls);
        if let (Client::Media3, Some(d), Some(uri)) =
            (self.client, &self.description, &self.session_uri)
        {
            let tracks: Vec<usize> = self.set_up.iter().map(|s| s.track).collect();
            problems.extend(media3::play(reply, uri, d, &tracks));
        }
        if self.played {
            return problems;
        }
        self.played = true;
        for set_up in &self.set_up {
            let Some(info) = entries.iter().find(|e| e.url == set_up.url) else {
                continue; // already a problem of checks::play
            };
            let packet = match &set_up.lower {
                Lower::Udp { rtp, .. } => rtp::udp(rtp),
                Lower::Tcp(channel) => rtp::interleaved(&mut self.connection, *channel),
            };
            match packet {
                Ok(packet) => {
                    let start = self.starts.get(set_up.track).copied().unwrap_or(0);
                    problems.extend(rtp::first_packet(&packet, set_up.ssrc, info, start));
                }
                Err(e) => problems.push(e),
            }
        }
        problems
    }
}

/// A UDP socket on an even port of 127.0.0.1 and one on the next port
/// (RFC 3550 §11).
fn udp_pair() -> (UdpSocket, UdpSocket) {
    for _ in 0..200 {
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = rtp.local_addr().unwrap().port();
        if !port.is_multiple_of(2) || port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = UdpSocket::bind(("127.0.0.1", port + 1)) {
            return (rtp, rtcp);
        }
    }
    panic!("no free even/odd UDP port pair on 127.0.0.1 in 200 tries");
}
