//! [`HTTPHandler`]: each record to a web server as Python's `logging.handlers.HTTPHandler`
//! sends it: the record's attributes urlencoded (`mapLogRecord`), as the query of a GET or the
//! `application/x-www-form-urlencoded` body of a POST, with HTTP Basic credentials if given;
//! over HTTPS when `secure`. ureq makes the request.
//!
//! Differences from Python, each a bound Python lacks:
//! - the caller does not wait for the server: the body is encoded when the record is handled
//!   and put in the handler's bounded buffer; the handler's own output thread makes the
//!   requests, as the other network handlers do (see [`net`](super::net)). A server that
//!   cannot be reached (refused, timed out) keeps the records in the buffer, retried in order
//!   with Python's backoff; beyond the bound the oldest are dropped. Every drop is counted
//!   ([`HTTPHandler::stats`]) and reported through the error policy. A request whose answer
//!   was lost (a timeout after the server read it) may so reach the server twice;
//! - a request waits at most the handler's `timeout` (Python's connection has none);
//! - a response with an error status (4xx, 5xx) drops that record, reported (Python reads
//!   the response and drops it).
//!
//! Python's `context` argument (an `ssl.SSLContext`) has no counterpart in a configuration
//! file: [`HTTPHandlerBuilder::secure`] takes the CA file and client certificate instead.

mod form;

use std::sync::Arc;
use std::time::Duration;

use super::net::output::NetOutput;
use super::net::request::{Request, RequestTransport};
use super::net::transport::SendError;
use super::net::{NetOptions, NetStats};
use super::tls::{TlsError, TlsOptions};
use super::{Handler, HandlerBase, HandlerError};
use crate::record::Record;

/// How long a request may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// GET or POST (Python's `method`).
///
/// ```
/// use mplog::handler::http::Method;
/// assert_eq!("post".parse::<Method>().unwrap(), Method::Post);
/// assert!("PUT".parse::<Method>().is_err()); // Python: "method must be GET or POST"
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// The record in the query string (Python's default).
    #[default]
    Get,
    /// The record as a form body.
    Post,
}

impl std::str::FromStr for Method {
    type Err = HttpError;
    fn from_str(s: &str) -> Result<Method, HttpError> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Ok(Method::Get),
            "POST" => Ok(Method::Post),
            _ => Err(HttpError::Options("method must be GET or POST".into())),
        }
    }
}

/// Why an [`HTTPHandler`] could not be built.
///
/// ```
/// use mplog::handler::HTTPHandler;
/// let err = HTTPHandler::builder("localhost:8000", "no-slash").build().unwrap_err();
/// assert!(err.to_string().contains("url"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// An option that cannot work.
    #[error("HTTPHandler: {0}")]
    Options(String),
    /// TLS could not be set up.
    #[error("HTTPHandler: {0}")]
    Tls(#[from] TlsError),
}

/// Builds an [`HTTPHandler`]: Python's `HTTPHandler(host, url, method="GET", secure=False,
/// credentials=None)`.
///
/// ```
/// use mplog::handler::{http::Method, HTTPHandler};
/// let h = HTTPHandler::builder("logs.example.com:8080", "/log")
///     .method(Method::Post)
///     .credentials("app", "secret")
///     .build()
///     .unwrap();
/// # drop(h);
/// ```
#[derive(Debug, Clone)]
pub struct HTTPHandlerBuilder {
    host: String,
    url: String,
    method: Method,
    secure: Option<TlsOptions>,
    credentials: Option<(String, String)>,
    timeout: Duration,
    options: NetOptions,
}

impl HTTPHandlerBuilder {
    /// GET (default) or POST.
    ///
    /// ```
    /// let b = mplog::handler::HTTPHandler::builder("localhost", "/log").method(mplog::handler::http::Method::Post);
    /// # drop(b);
    /// ```
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// HTTPS, trusting what these options say (Python's `secure=True`; its `context`).
    ///
    /// ```
    /// let b = mplog::handler::HTTPHandler::builder("localhost", "/log").secure(mplog::handler::TlsOptions::default());
    /// # drop(b);
    /// ```
    pub fn secure(mut self, tls: TlsOptions) -> Self {
        self.secure = Some(tls);
        self
    }

    /// HTTP Basic authentication (Python's `credentials`).
    ///
    /// ```
    /// let b = mplog::handler::HTTPHandler::builder("localhost", "/log").credentials("u", "p");
    /// # drop(b);
    /// ```
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// The most one request may take (default [`DEFAULT_TIMEOUT`]).
    ///
    /// ```
    /// let b = mplog::handler::HTTPHandler::builder("localhost", "/log").timeout(std::time::Duration::from_secs(1));
    /// # drop(b);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The buffer bound, backoff, overflow policy and drain timeouts of the output thread
    /// (see [`net`](crate::handler::net)); the request timeout stays [`Self::timeout`].
    ///
    /// ```
    /// use mplog::handler::net::NetOptions;
    /// let b = mplog::handler::HTTPHandler::builder("localhost", "/log")
    ///     .options(NetOptions { max_pending: 1 << 20, ..NetOptions::default() });
    /// # drop(b);
    /// ```
    pub fn options(mut self, options: NetOptions) -> Self {
        self.options = options;
        self
    }

    /// Checks the options, reads the TLS files, builds the handler.
    ///
    /// ```
    /// let h = mplog::handler::HTTPHandler::builder("localhost:8000", "/log").build().unwrap();
    /// # drop(h);
    /// ```
    pub fn build(self) -> Result<HTTPHandler, HttpError> {
        if !self.url.starts_with('/') {
            return Err(HttpError::Options(format!(
                "url {:?} must be a path starting with '/'",
                self.url
            )));
        }
        if self.host.is_empty() || self.host.contains(['/', ' ', '@', '?', '#']) {
            return Err(HttpError::Options(format!(
                "host {:?} must be host or host:port",
                self.host
            )));
        }
        let scheme = if self.secure.is_some() {
            "https"
        } else {
            "http"
        };
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(true)
            .user_agent(ureq::config::AutoHeaderValue::None);
        if let Some(options) = &self.secure {
            config = config.tls_config(tls_config(options)?);
        }
        let authorization = self.credentials.as_ref().map(|(user, password)| {
            // Python: 'Basic ' + base64.b64encode(('%s:%s' % credentials).encode('utf-8')).
            let mut value = String::from("Basic ");
            crate::handler::b64::encode(format!("{user}:{password}").as_bytes(), &mut value);
            value
        });
        let base_url = format!("{scheme}://{}{}", self.host, self.url);
        let client = Client {
            agent: config.build().into(),
            base_url: base_url.clone(),
            method: self.method,
            authorization,
        };
        let base = Arc::new(HandlerBase::new());
        let options = NetOptions {
            timeout: self.timeout,
            ..self.options
        };
        let output = NetOutput::start(
            Box::new(RequestTransport::new(client)),
            format!("http {base_url}"),
            options,
            base.clone(),
        )
        .map_err(|e| HttpError::Options(format!("starting the output thread: {e}")))?;
        Ok(HTTPHandler {
            base,
            output,
            flush_timeout: options.flush_timeout,
            base_url,
            method: self.method,
        })
    }
}

fn tls_config(options: &TlsOptions) -> Result<ureq::tls::TlsConfig, HttpError> {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};
    let loaded = options.load()?;
    let roots: Vec<Certificate<'static>> = loaded
        .roots
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    let mut builder = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::from(roots))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()));
    if let Some(id) = &loaded.identity {
        let chain: Vec<Certificate<'static>> = id
            .chain
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect();
        let key = PrivateKey::from_pem(&id.key_pem)
            .map_err(|e| HttpError::Options(format!("client key: {e}")))?;
        builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(builder.build())
}

/// Sends each record to a web server (Python's `HTTPHandler`); see the module docs.
///
/// ```no_run
/// use mplog::handler::{http::Method, Handler, HTTPHandler};
/// let h = HTTPHandler::builder("127.0.0.1:8000", "/log").method(Method::Post).build().unwrap();
/// h.handle(&mplog::Record::new("app", mplog::Level::ERROR, "payment failed"));
/// ```
#[allow(clippy::upper_case_acronyms)]
pub struct HTTPHandler {
    base: Arc<HandlerBase>,
    output: NetOutput,
    flush_timeout: Duration,
    base_url: String,
    method: Method,
}

/// One request per record, on the output thread.
struct Client {
    agent: ureq::Agent,
    base_url: String,
    method: Method,
    authorization: Option<String>,
}

impl Request for Client {
    fn call(&mut self, message: &[u8]) -> Result<(), SendError> {
        // The body is urlencoded: ASCII.
        let body = String::from_utf8_lossy(message);
        let result = match self.method {
            Method::Get => {
                // Python: url + ('&' if '?' in url else '?') + data.
                let sep = if self.base_url.contains('?') {
                    '&'
                } else {
                    '?'
                };
                let url = format!("{}{sep}{body}", self.base_url);
                let mut request = self.agent.get(&url);
                if let Some(auth) = &self.authorization {
                    request = request.header("Authorization", auth);
                }
                request.call()
            }
            Method::Post => {
                let mut request = self
                    .agent
                    .post(&self.base_url)
                    .header("Content-type", "application/x-www-form-urlencoded");
                if let Some(auth) = &self.authorization {
                    request = request.header("Authorization", auth);
                }
                request.send(message)
            }
        };
        let method = match self.method {
            Method::Get => "GET",
            Method::Post => "POST",
        };
        // A success status is all that counts; the response's content is of no use, as in
        // Python.
        match result {
            Ok(_) => Ok(()),
            Err(e @ ureq::Error::StatusCode(_)) => Err(SendError::Message(std::io::Error::other(
                format!("{method} {}: {e}", self.base_url),
            ))),
            Err(e) => Err(SendError::Connection(std::io::Error::other(format!(
                "{method} {}: {e}",
                self.base_url
            )))),
        }
    }
}

impl std::fmt::Debug for HTTPHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HTTPHandler")
            .field("url", &self.base_url)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl HTTPHandler {
    /// A builder for `host` (`host` or `host:port`) and `url` (the path, `/log`).
    ///
    /// ```
    /// let b = mplog::handler::HTTPHandler::builder("localhost:8000", "/log?app=billing");
    /// # drop(b);
    /// ```
    pub fn builder(host: impl Into<String>, url: impl Into<String>) -> HTTPHandlerBuilder {
        HTTPHandlerBuilder {
            host: host.into(),
            url: url.into(),
            method: Method::Get,
            secure: None,
            credentials: None,
            timeout: DEFAULT_TIMEOUT,
            options: NetOptions::default(),
        }
    }

    /// Records sent, dropped (counted and reported), and waiting in the buffer.
    ///
    /// ```
    /// let h = mplog::handler::HTTPHandler::builder("localhost:8000", "/log").build().unwrap();
    /// assert_eq!(h.stats().dropped, 0);
    /// ```
    pub fn stats(&self) -> NetStats {
        self.output.stats()
    }

    /// `urlencode(mapLogRecord(record))`: the body (POST) or query (GET) sent for `record`.
    ///
    /// ```
    /// let h = mplog::handler::HTTPHandler::builder("localhost", "/log").build().unwrap();
    /// let form = h.form(&mplog::Record::new("app", mplog::Level::INFO, "a b"));
    /// assert!(form.starts_with("name=app&msg=a+b&args=%28%29&levelname=INFO&levelno=20&"));
    /// ```
    pub fn form(&self, record: &Record) -> String {
        let mut out = String::new();
        form::urlencode_record(record, &mut out);
        out
    }
}

impl Handler for HTTPHandler {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    /// Encodes the record's attributes into the buffer; the output thread makes the request.
    fn emit(&self, record: &Record) -> Result<(), HandlerError> {
        let mut body = String::new();
        form::urlencode_record(record, &mut body);
        self.output
            .send(|out| out.extend_from_slice(body.as_bytes()))
    }

    fn flush(&self) -> std::io::Result<()> {
        self.output.flush(self.flush_timeout)
    }

    /// Sends what is buffered within the drain timeout (plus one request's own timeout), the
    /// rest counted and reported.
    fn close(&self) {
        self.output.close();
    }
}
