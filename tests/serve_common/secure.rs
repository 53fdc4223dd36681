//! RTSPS and RTSP-over-HTTP for the `serve` tests: self-signed
//! certificates of each key kind (rcgen; openssl for RSA keys, which ring
//! cannot generate, and for the PKCS #1 / SEC1 key files), a TLS client
//! connection that accepts any certificate and shows which it got, and
//! the client side of an HTTP tunnel.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

use super::client::Conn;
use super::TestServer;

/// The kinds of key a certificate is made with, and the form of the key
/// file the server reads.
#[derive(Clone, Copy, Debug)]
pub enum KeyKind {
    /// RSA 2048, PKCS #1 (`RSA PRIVATE KEY`).
    Rsa,
    /// ECDSA P-256, PKCS #8 (`PRIVATE KEY`).
    EcdsaP256,
    /// ECDSA P-384, SEC1 (`EC PRIVATE KEY`).
    EcdsaP384,
    /// Ed25519, PKCS #8.
    Ed25519,
}

/// Certificate and key files, and the certificate's DER.
pub struct CertFiles {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// The private key (PEM).
    pub key: PathBuf,
    /// The certificate, as a client receives it.
    pub der: Vec<u8>,
}

impl CertFiles {
    /// `--tls-cert CERT --tls-key KEY --tls-port 0`.
    pub fn args(&self) -> Vec<String> {
        [
            "--tls-cert",
            self.cert.to_str().unwrap(),
            "--tls-key",
            self.key.to_str().unwrap(),
            "--tls-port",
            "0",
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

/// `openssl ARGS` with `input` on stdin; its stdout.
fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = crate::common::wait_with_output_bounded(child, &format!("openssl {args:?}"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Writes a self-signed certificate for `localhost` with a new key of
/// `kind` as `NAME.crt` and `NAME.key` in `dir` (replacing them).
pub fn write_cert(dir: &Path, name: &str, kind: KeyKind) -> CertFiles {
    let (key, key_file) = match kind {
        KeyKind::Rsa => {
            let pkcs8 = openssl(
                &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                ],
                b"",
            );
            let pkcs8 = String::from_utf8(pkcs8).unwrap();
            let key =
                rcgen::KeyPair::from_pem_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256).unwrap();
            let pkcs1 = openssl(&["pkey", "-traditional"], pkcs8.as_bytes());
            (key, pkcs1)
        }
        KeyKind::EcdsaP256 | KeyKind::Ed25519 => {
            let alg = match kind {
                KeyKind::Ed25519 => &rcgen::PKCS_ED25519,
                _ => &rcgen::PKCS_ECDSA_P256_SHA256,
            };
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            let pem = key.serialize_pem().into_bytes();
            (key, pem)
        }
        KeyKind::EcdsaP384 => {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
            let sec1 = openssl(&["pkey", "-traditional"], key.serialize_pem().as_bytes());
            (key, sec1)
        }
    };
    let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let files = CertFiles {
        cert: dir.join(format!("{name}.crt")),
        key: dir.join(format!("{name}.key")),
        der: cert.der().to_vec(),
    };
    std::fs::write(&files.cert, cert.pem()).unwrap();
    std::fs::write(&files.key, key_file).unwrap();
    files
}

/// Accepts any server certificate (they are self-signed here); the
/// handshake signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS versions a client offers.
#[derive(Clone, Copy, Debug)]
pub enum Version {
    /// TLS 1.2 only.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// A TLS client connection.
pub struct TlsConn(StreamOwned<ClientConnection, TcpStream>);

impl TlsConn {
    /// Connects to 127.0.0.1:`port` and completes the handshake offering
    /// only `version`.
    pub fn connect(port: u16, version: Version) -> std::io::Result<TlsConn> {
        TlsConn::connect_with(port, &Arc::new(TlsConn::config(version)))
    }

    /// A client's settings offering only `version`, any certificate
    /// accepted; rustls's own resumption (a session cache of 256).
    pub fn config(version: Version) -> ClientConfig {
        #[allow(deprecated)] // the server's provider, as src/server/tls.rs says
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = match version {
            Version::Tls12 => &[&rustls::version::TLS12],
            Version::Tls13 => &[&rustls::version::TLS13],
        };
        ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    }

    /// [`connect`](Self::connect) with `config`, whose session cache
    /// lets a later connection resume.
    pub fn connect_with(port: u16, config: &Arc<ClientConfig>) -> std::io::Result<TlsConn> {
        let name = ServerName::try_from("localhost").unwrap();
        let connection = ClientConnection::new(Arc::clone(config), name).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        tcp.set_nodelay(true)?;
        let mut stream = StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(TlsConn(stream))
    }

    /// The certificate the server presented.
    pub fn certificate(&self) -> Vec<u8> {
        self.0.conn.peer_certificates().unwrap()[0].to_vec()
    }

    /// Whether the handshake resumed an earlier session.
    pub fn resumed(&self) -> bool {
        self.0.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    /// The TLS version agreed.
    pub fn version(&self) -> Option<rustls::ProtocolVersion> {
        self.0.conn.protocol_version()
    }
}

impl Read for TlsConn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf) {
            // A server that closes without close_notify has closed all the same.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }
}

impl Write for TlsConn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Conn for TlsConn {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.0.sock.set_read_timeout(timeout)
    }
}

/// The client side of an HTTP tunnel: reads the GET leg, writes each
/// request as base64 on the POST leg (as ffmpeg does: one padded segment
/// per write).
pub struct TunnelConn {
    get: BufReader<Box<dyn Conn>>,
    post: Box<dyn Conn>,
}

/// A GET head opening the server-to-client leg of tunnel `cookie`.
pub fn get_head(path: &str, cookie: &str) -> String {
    format!(
        "GET /{path} HTTP/1.0\r\nUser-Agent: test\r\nx-sessioncookie: {cookie}\r\n\
         Accept: application/x-rtsp-tunnelled\r\nPragma: no-cache\r\n\
         Cache-Control: no-cache\r\n\r\n"
    )
}

/// A POST head opening the client-to-server leg of tunnel `cookie`.
pub fn post_head(path: &str, cookie: &str) -> String {
    format!(
        "POST /{path} HTTP/1.0\r\nUser-Agent: test\r\nx-sessioncookie: {cookie}\r\n\
         Content-Type: application/x-rtsp-tunnelled\r\nPragma: no-cache\r\n\
         Cache-Control: no-cache\r\nContent-Length: 32767\r\n\
         Expires: Sun, 9 Jan 1972 00:00:00 GMT\r\n\r\n"
    )
}

/// Reads an HTTP response head from `conn`: the status line and headers.
pub fn read_http_head<R: BufRead>(conn: &mut R) -> Option<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            return Some(lines);
        }
        lines.push(line);
    }
}

impl TunnelConn {
    /// Opens tunnel `cookie` with a GET on `get` and a POST on `post`.
    pub fn open(mut get: Box<dyn Conn>, mut post: Box<dyn Conn>, cookie: &str) -> TunnelConn {
        get.write_all(get_head("", cookie).as_bytes()).unwrap();
        get.flush().unwrap();
        let mut get = BufReader::new(get);
        let head = read_http_head(&mut get).expect("an answer to the GET");
        assert_eq!(head[0], "HTTP/1.0 200 OK", "{head:?}");
        assert!(
            head.iter()
                .any(|h| h == "Content-Type: application/x-rtsp-tunnelled"),
            "{head:?}"
        );
        post.write_all(post_head("", cookie).as_bytes()).unwrap();
        post.flush().unwrap();
        TunnelConn { get, post }
    }
}

impl Read for TunnelConn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.get.read(buf)
    }
}

impl Write for TunnelConn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = base64::engine::general_purpose::STANDARD.encode(buf);
        self.post.write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.post.flush()
    }
}

impl Conn for TunnelConn {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.get.get_ref().set_read_timeout(timeout)
    }
}

/// A port free just now on 127.0.0.1 (for `--http-port`, where 0 means
/// off rather than any port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestServer {
    /// The port of the listener whose start-up line has `scheme`.
    pub fn port_of(&self, scheme: &str) -> u16 {
        let prefix = format!("{scheme}://");
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|rest| rest.trim_end_matches('/').rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no {scheme}:// line in {:?}", self.lines))
    }
}
