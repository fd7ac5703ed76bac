//! [`TlsOptions`]: how a network handler trusts its peer and proves who it is (a CA file, an
//! optional client certificate and key), shared by SysLogHandler's TLS transport (RFC 5425),
//! SMTPHandler's STARTTLS and HTTPHandler's HTTPS. Each turns the same files into its
//! crate's configuration; the files are read when the handler is built, so a missing or
//! malformed one is an error at start-up, not at the first record.

use std::path::{Path, PathBuf};

/// Why TLS could not be set up.
///
/// ```
/// use mplog::handler::TlsOptions;
/// let err = TlsOptions::default().ca_file("/nonexistent/ca.pem").load().unwrap_err();
/// assert!(err.to_string().contains("/nonexistent/ca.pem"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("reading {path:?}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of the kind needed.
    #[error("{path:?}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        what: String,
    },
    /// The TLS library refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Where the trusted CAs and the client identity come from.
///
/// Without a CA file, the system's trusted roots are used (as Python's default context
/// does).
///
/// ```
/// use mplog::handler::TlsOptions;
/// let tls = TlsOptions::default()
///     .ca_file("/etc/mplog/ca.pem")
///     .client_cert("/etc/mplog/client.pem", "/etc/mplog/client.key")
///     .server_name("logs.example.com");
/// assert_eq!(tls.server_name.as_deref(), Some("logs.example.com"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM file of the CA certificates to trust; `None`: the system's roots.
    pub ca_file: Option<PathBuf>,
    /// PEM file of the client certificate (chain), sent when the server asks.
    pub cert_file: Option<PathBuf>,
    /// PEM file of the client certificate's private key.
    pub key_file: Option<PathBuf>,
    /// The name to verify the server's certificate against; `None`: the host connected to.
    pub server_name: Option<String>,
}

/// The files of a [`TlsOptions`], read and parsed.
#[derive(Debug)]
pub struct LoadedTls {
    /// The trusted roots (DER), from the CA file or the system.
    pub roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// The client certificate chain and key, with the PEM text they came from.
    pub identity: Option<Identity>,
    /// The CA file's PEM text, when one was given.
    pub ca_pem: Option<Vec<u8>>,
}

/// A client certificate chain and its key.
#[derive(Debug)]
pub struct Identity {
    /// The chain (DER).
    pub chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// The key (DER).
    pub key: rustls::pki_types::PrivateKeyDer<'static>,
    /// The certificate file's PEM text.
    pub cert_pem: Vec<u8>,
    /// The key file's PEM text.
    pub key_pem: Vec<u8>,
}

impl TlsOptions {
    /// Trusts the CAs in this PEM file (instead of the system's).
    ///
    /// ```
    /// let tls = mplog::handler::TlsOptions::default().ca_file("ca.pem");
    /// assert!(tls.ca_file.is_some());
    /// ```
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Presents this certificate (PEM, chain allowed) and key (PEM) when the server asks.
    ///
    /// ```
    /// let tls = mplog::handler::TlsOptions::default().client_cert("c.pem", "c.key");
    /// assert!(tls.cert_file.is_some() && tls.key_file.is_some());
    /// ```
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.cert_file = Some(cert.into());
        self.key_file = Some(key.into());
        self
    }

    /// Verifies the server's certificate against this name instead of the host's.
    ///
    /// ```
    /// let tls = mplog::handler::TlsOptions::default().server_name("relay.internal");
    /// assert_eq!(tls.server_name.as_deref(), Some("relay.internal"));
    /// ```
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Reads and parses the files.
    ///
    /// ```
    /// let loaded = mplog::handler::TlsOptions::default().load().unwrap();
    /// assert!(loaded.identity.is_none()); // the system's roots, no client certificate
    /// ```
    pub fn load(&self) -> Result<LoadedTls, TlsError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::PrivateKeyDer;

        let (roots, ca_pem) = match &self.ca_file {
            Some(path) => {
                let pem = read(path)?;
                let roots = certs(path, &pem)?;
                (roots, Some(pem))
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                if found.certs.is_empty() {
                    return Err(TlsError::Config(format!(
                        "no CA file given and no system roots found ({} errors)",
                        found.errors.len()
                    )));
                }
                (found.certs, None)
            }
        };
        let identity = match (&self.cert_file, &self.key_file) {
            (None, None) => None,
            (Some(cert), Some(key)) => {
                let cert_pem = read(cert)?;
                let chain = certs(cert, &cert_pem)?;
                let key_pem = read(key)?;
                let key_der =
                    PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
                        path: key.clone(),
                        what: format!("no private key: {e}"),
                    })?;
                Some(Identity {
                    chain,
                    key: key_der,
                    cert_pem,
                    key_pem,
                })
            }
            _ => {
                return Err(TlsError::Config(
                    "a client certificate needs both a certificate file and a key file".into(),
                ))
            }
        };
        Ok(LoadedTls {
            roots,
            identity,
            ca_pem,
        })
    }

    /// A rustls client configuration from the files (used by the syslog TLS transport).
    ///
    /// ```no_run
    /// let config = mplog::handler::TlsOptions::default().ca_file("ca.pem").client_config().unwrap();
    /// # let _ = config;
    /// ```
    pub fn client_config(&self) -> Result<std::sync::Arc<rustls::ClientConfig>, TlsError> {
        let loaded = self.load()?;
        let mut store = rustls::RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(loaded.roots);
        if added == 0 {
            return Err(TlsError::Config("no usable CA certificate".into()));
        }
        let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(store);
        let config = match loaded.identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain, id.key)
                .map_err(|e| TlsError::Config(format!("client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        Ok(std::sync::Arc::new(config))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn certs(
    path: &Path,
    pem: &[u8],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            what: format!("bad certificate: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_owned(),
            what: "no certificate".into(),
        });
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not pem").unwrap();
        let err = TlsOptions::default().ca_file(&path).load().unwrap_err();
        assert!(err.to_string().contains("ca.pem") && err.to_string().contains("no certificate"));
        let err = TlsOptions {
            cert_file: Some(path),
            ..TlsOptions::default()
        }
        .load()
        .unwrap_err();
        assert!(err.to_string().contains("both"), "{err}");
    }
}
