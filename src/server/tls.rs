//! RTSPS: RTSP over TLS (RFC 2326 §3.2's `rtsps` scheme, RFC 7826 §19.2),
//! with rustls: TLS 1.2 and 1.3 only (RFC 8446, RFC 5246), the server's
//! certificate chain and private key read from PEM files (RSA, ECDSA or
//! Ed25519 keys, in PKCS #8, PKCS #1 or SEC1 form).
//!
//! The certificate is re-read by [`Tls::reload`] (SIGHUP) without touching
//! the connections already open: the server config resolves each new
//! handshake's certificate through a swappable [`CertifiedKey`], so a
//! reload is one pointer swap, and a file that does not load (unreadable,
//! no certificate, a key that does not match) leaves the old one in force.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The TLS side of the server: the acceptor, and the files its
/// certificate comes from.
pub struct Tls {
    acceptor: TlsAcceptor,
    current: Arc<CurrentKey>,
    provider: Arc<CryptoProvider>,
    cert: PathBuf,
    key: PathBuf,
}

/// The certificate and key new handshakes get.
#[derive(Debug)]
struct CurrentKey(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentKey {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.0.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

impl Tls {
    /// Loads the certificate chain `cert` and its private key `key`.
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Tls> {
        // rustls 0.23.48 deprecates the ring provider for lacking
        // post-quantum key exchange; ring is the provider chosen here
        // (/work/shared/dependencies.md: aws-lc-rs builds C with cmake).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certified = load_certified_key(cert, key, &provider)?;
        let current = Arc::new(CurrentKey(RwLock::new(Arc::new(certified))));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .context("TLS set-up")?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        // Sessions resume from tickets (RFC 5077, RFC 8446 §4.6.1) that the
        // server keeps nothing of, keys rotated every 6 hours, instead of
        // rustls's cache of the last 256 sessions: a load of RTSPS
        // clients left those small entries all over the heap, pinning its
        // pages. 500 SRTP sessions (serve_load), 10 s after: anonymous
        // memory 1.0 and 0.9 MiB against 3.1-3.3, VmRSS 107% and 109% of
        // start-up against 130-131% (docs/benchmarks.md).
        #[allow(deprecated)] // the ring provider, as above
        {
            config.ticketer = rustls::crypto::ring::Ticketer::new().context("TLS tickets")?;
        }
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            current,
            provider,
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        })
    }

    /// Re-reads the certificate and key files: new handshakes get the new
    /// certificate, open connections keep theirs. On an error the old
    /// certificate stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let certified = load_certified_key(&self.cert, &self.key, &self.provider)?;
        *self
            .current
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(certified);
        Ok(())
    }

    /// Runs the server side of the handshake on `tcp`, in at most
    /// `timeout` (a client that stalls mid-handshake is dropped).
    pub async fn accept(
        &self,
        tcp: TcpStream,
        timeout: Duration,
    ) -> io::Result<TlsStream<TcpStream>> {
        tokio::time::timeout(timeout, self.acceptor.accept(tcp))
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "handshake not finished in time",
                ))
            })
    }
}

/// The chain of the PEM file `cert` (end-entity certificate first) with
/// the first private key of the PEM file `key`, checked to match.
fn load_certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{}: no certificate (a PEM `CERTIFICATE` block) in the file",
        cert.display()
    );
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => anyhow::anyhow!(
            "{}: no private key (a PEM `PRIVATE KEY` block) in the file",
            key.display()
        ),
        e => anyhow::anyhow!("{}: {e}", key.display()),
    })?;
    CertifiedKey::from_der(chain, private, provider).map_err(|e| {
        anyhow::anyhow!(
            "{} and {}: {e} (is the key the certificate's, and of a kind rustls signs with: RSA, ECDSA P-256/P-384, Ed25519?)",
            cert.display(),
            key.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn self_signed(alg: &'static rcgen::SignatureAlgorithm) -> (String, String) {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn every_key_kind_loads_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        // RSA keys are covered by tests/serve_tls.rs (ring cannot generate
        // them; openssl does there).
        for alg in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P384_SHA384,
            &rcgen::PKCS_ED25519,
        ] {
            let (cert, key) = self_signed(alg);
            let cert = write(dir, "cert.pem", &cert);
            let key = write(dir, "key.pem", &key);
            Tls::load(&cert, &key).unwrap_or_else(|e| panic!("{alg:?}: {e:#}"));
        }
        let (cert_a, _) = self_signed(&rcgen::PKCS_ECDSA_P256_SHA256);
        let (_, key_b) = self_signed(&rcgen::PKCS_ECDSA_P256_SHA256);
        let cert = write(dir, "a.pem", &cert_a);
        let key = write(dir, "b.pem", &key_b);
        let mismatch = Tls::load(&cert, &key).err().unwrap().to_string();
        assert!(mismatch.contains("a.pem and"), "{mismatch}");
        let empty = write(dir, "empty.pem", "");
        let error = Tls::load(&empty, &key).err().unwrap().to_string();
        assert!(error.contains("empty.pem: no certificate"), "{error}");
        let error = Tls::load(&cert, &empty).err().unwrap().to_string();
        assert!(error.contains("empty.pem: no private key"), "{error}");
        let missing = dir.join("missing.pem");
        let error = Tls::load(&missing, &key).err().unwrap().to_string();
        assert!(error.contains("missing.pem"), "{error}");
    }

    #[test]
    fn a_reload_that_fails_keeps_the_old_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let (cert, key) = self_signed(&rcgen::PKCS_ED25519);
        let cert_path = write(dir, "cert.pem", &cert);
        let key_path = write(dir, "key.pem", &key);
        let tls = Tls::load(&cert_path, &key_path).unwrap();
        let served = |tls: &Tls| tls.current.0.read().unwrap().cert[0].clone();
        let first = served(&tls);
        write(dir, "cert.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
        assert!(tls.reload().is_err());
        assert_eq!(served(&tls), first);
        let (cert, key) = self_signed(&rcgen::PKCS_ECDSA_P384_SHA384);
        write(dir, "cert.pem", &cert);
        write(dir, "key.pem", &key);
        tls.reload().unwrap();
        assert_ne!(served(&tls), first);
    }
}
