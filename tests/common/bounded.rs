//! Every process a test runs to its end (ffmpeg, ffprobe, gst-launch-1.0,
//! tshark, openssl, this crate's own binary) runs under one deadline. A
//! process still running after it is killed and the test fails, naming the
//! command and showing what it printed. Without this a peer that hangs
//! (GStreamer's fault handler waiting for a debugger after a crash, a
//! client waiting for an end of stream that never comes) holds the whole
//! test run until CI's own limit, with nothing said about which one.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Far above the longest run of any process here (about 20 s: a client
/// playing a clip in real time on a loaded machine); only a hang reaches it.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// `Command::output` and `Command::status` under [`DEADLINE`].
pub trait Bounded {
    /// Runs to the end with stdout and stderr captured and stdin closed.
    fn output_bounded(&mut self) -> Output;
    /// Runs to the end with stdout and stderr inherited.
    fn status_bounded(&mut self) -> ExitStatus;
}

impl Bounded for Command {
    fn output_bounded(&mut self) -> Output {
        let label = label(self);
        let child = self
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{label}`: {e}"));
        wait_with_output_bounded(child, &label)
    }

    fn status_bounded(&mut self) -> ExitStatus {
        let label = label(self);
        let mut child = self
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{label}`: {e}"));
        wait_bounded(&mut child, &label)
    }
}

/// The crate's own binary through `assert_cmd`, which kills a process at
/// its own timeout: set to [`DEADLINE`], and a run that reached it fails.
impl Bounded for assert_cmd::Command {
    fn output_bounded(&mut self) -> Output {
        let started = Instant::now();
        let output = self
            .timeout(DEADLINE)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `{self:?}`: {e}"));
        assert!(
            started.elapsed() < DEADLINE,
            "`{self:?}` was still running after {DEADLINE:?}: killed\nits stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn status_bounded(&mut self) -> ExitStatus {
        self.output_bounded().status
    }
}

/// A command as a person would type it, cut to a line, to name it in a
/// failure.
pub fn label(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    if line.len() > 300 {
        let mut cut = 300;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str(" ...");
    }
    line
}

/// `Child::wait` under [`DEADLINE`]; the process is killed and the test
/// fails when it is still running then.
pub fn wait_bounded(child: &mut Child, label: &str) -> ExitStatus {
    match wait_until(child, Instant::now() + DEADLINE) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{label}` was still running after {DEADLINE:?}: killed");
        }
    }
}

/// `Child::wait_with_output` under [`DEADLINE`], for a child spawned with
/// its stdout and/or stderr piped. When the deadline passes the process is
/// killed and the test fails with what it printed so far.
pub fn wait_with_output_bounded(mut child: Child, label: &str) -> Output {
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let status = wait_until(&mut child, Instant::now() + DEADLINE);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let collect = |reader: Option<JoinHandle<Vec<u8>>>| {
        reader.map_or_else(Vec::new, |r| r.join().unwrap_or_default())
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "`{label}` was still running after {DEADLINE:?}: killed\nits stderr:\n{}",
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// Reads a pipe to its end on a thread of its own, so a process that
/// prints a lot never blocks on a full pipe while it is waited for.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// The exit status, or `None` if the process is still running at `end`.
fn wait_until(child: &mut Child, end: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child process") {
            return Some(status);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
