//! The YAML configuration of `serve` (`common::config::yaml`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("config_yaml", data));
