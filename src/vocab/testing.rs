//! Test helpers every layer's tests share: the fixtures and deterministic
//! pseudo-random numbers (at the bottom so that any layer may use them).

/// The path of `fixtures/<name>`.
pub fn fixture_path(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The bytes of `fuzz/regressions/<target>/<name>`: an input a fuzz
/// target found (replayed by tests/fuzz_regressions.rs as well).
pub fn fuzz_regression(target: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/fuzz/regressions/{target}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The bytes of `fixtures/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Deterministic pseudo-random numbers for corruption tests: xorshift64
/// (G. Marsaglia, "Xorshift RNGs", 2003) from a non-zero seed.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next number of the sequence.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
