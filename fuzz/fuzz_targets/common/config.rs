//! The YAML configuration file of `serve`.

use mediatool::server::{ServerConfig, Settings};

/// A YAML document as `--config` reads it, then checked as the server
/// does, and laid under flags.
pub fn yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(settings) = Settings::from_yaml(text) else {
        return;
    };
    let _ = ServerConfig::try_from(settings.clone());
    let merged = Settings::default().overridden_by(settings.clone());
    assert_eq!(merged, settings, "laying settings over none changed them");
}
