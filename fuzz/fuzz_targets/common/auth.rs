//! Credentials as a client sends them: the `Authorization` header of a
//! request, Digest (RFC 7616) or Basic (RFC 7617).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use mediatool::server::auth::{Attempt, Authenticator, User};

/// An `Authorization` header (after the first line of the input, which is
/// the Request-URI) checked by a server with one user that accepts Basic
/// too: never a panic, and only that user ever gets in.
pub fn authorization(data: &[u8]) {
    static AUTH: OnceLock<Authenticator> = OnceLock::new();
    let auth = AUTH.get_or_init(|| {
        let user = User::parse("alice:secret").expect("user");
        Authenticator::new(vec![user], "mediatool".into(), true).expect("authenticator")
    });
    let text = String::from_utf8_lossy(data);
    let (uri, header) = text.split_once('\n').unwrap_or(("rtsp://h/a.264", &text));
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for method in ["DESCRIBE", "SETUP"] {
        let attempt = Attempt {
            method,
            uri,
            client,
            authorization: Some(header),
        };
        if let Ok(user) = auth.check(&attempt) {
            assert_eq!(user, "alice");
        }
    }
    let _ = auth.challenges(data.first().is_some_and(|b| b & 1 == 1), client);
}
