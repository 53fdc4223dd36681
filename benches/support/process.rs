//! Another process's resources, read from `/proc` (proc(5)): resident
//! memory, CPU time, open file descriptors and threads. Each panics when
//! it cannot measure (no `/proc`, the process gone, a field missing): a
//! benchmark must not report 0 for what it could not read.

/// Resident memory of a process in KiB: all of it, and its anonymous part
/// (heap and stacks: what the process allocated, without the pages of
/// its program and libraries, which it shares and faults in as it runs).
#[derive(Clone, Copy)]
pub struct Memory {
    pub rss: u64,
    pub anon: u64,
}

/// `VmRSS` and `RssAnon` of `/proc/PID/status`.
pub fn memory(pid: u32) -> Memory {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {path}"))
    };
    Memory {
        rss: field("VmRSS:"),
        anon: field("RssAnon:"),
    }
}

/// CPU seconds (user + system) of a process.
pub fn cpu_seconds(pid: u32) -> f64 {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // After the command name (which may hold spaces), utime and stime are
    // fields 14 and 15 (1-based), in USER_HZ (100 a second).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap_or_else(|| panic!("{path}: no command name"))
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields
        .get(11..13)
        .unwrap_or_else(|| panic!("{path}: no utime and stime"))
        .iter()
        .map(|v| v.parse::<u64>().unwrap_or_else(|e| panic!("{path}: {e}")))
        .sum();
    ticks as f64 / 100.0
}

/// Entries of a `/proc/PID/` directory (`fd`, `task`).
fn entries(pid: u32, dir: &str) -> usize {
    let path = format!("/proc/{pid}/{dir}");
    let count = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .count();
    // A live process has at least one thread, and a server at least its
    // listening socket.
    assert!(count > 0, "{path} is empty");
    count
}

/// Open file descriptors of a process.
pub fn open_fds(pid: u32) -> usize {
    entries(pid, "fd")
}

/// Threads of a process.
pub fn threads(pid: u32) -> usize {
    entries(pid, "task")
}

/// What each open file descriptor of a process refers to (`readlink` of
/// `/proc/PID/fd/N`: a path, `socket:[INODE]`, `anon_inode:[eventpoll]`),
/// by descriptor.
pub fn fd_targets(pid: u32) -> Vec<(u32, String)> {
    let path = format!("/proc/{pid}/fd");
    let mut targets: Vec<(u32, String)> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .filter_map(|entry| {
            let entry = entry.unwrap_or_else(|e| panic!("{path}: {e}"));
            let fd = entry.file_name().to_str()?.parse().ok()?;
            // A descriptor closed since the listing: not open.
            let target = std::fs::read_link(entry.path()).ok()?;
            Some((fd, target.display().to_string()))
        })
        .collect();
    targets.sort();
    targets
}

/// The names of a process's threads (`/proc/PID/task/TID/comm`), sorted.
pub fn thread_names(pid: u32) -> Vec<String> {
    let path = format!("/proc/{pid}/task");
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .filter_map(|task| {
            let comm = task
                .unwrap_or_else(|e| panic!("{path}: {e}"))
                .path()
                .join("comm");
            // A thread that ended since the listing: not there.
            Some(std::fs::read_to_string(comm).ok()?.trim().to_owned())
        })
        .collect();
    names.sort();
    names
}
