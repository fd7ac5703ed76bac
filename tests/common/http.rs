//! A real HTTP server for the tests: python3's `http.server` on loopback (HTTPS with the
//! test's certificates when asked), answering 200 and printing each request as one JSON line:
//! `{"method", "path", "headers": [[name, value], ...], "body"}`.

use super::servers::{Certs, PythonServer};

const SERVER: &str = r#"
import http.server, json, ssl, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def record(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("latin-1")
        print(json.dumps({"method": self.command, "path": self.path,
                          "headers": [[k, v] for k, v in self.headers.items()], "body": body}), flush=True)
        status = 500 if "fail" in self.path else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    do_GET = do_POST = record
    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) > 1:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A received request.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    /// A header's value (names compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct HttpServer {
    server: PythonServer,
    pub port: u16,
}

impl HttpServer {
    /// Starts the server (python3 is required by the whole suite); HTTPS with `tls`.
    pub fn start(tls: Option<&Certs>) -> HttpServer {
        let args: Vec<String> = match tls {
            Some(c) => vec![
                c.server_cert.display().to_string(),
                c.server_key.display().to_string(),
            ],
            None => Vec::new(),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = PythonServer::start(SERVER, &args).expect("python3 http.server starts");
        HttpServer {
            port: server.port,
            server,
        }
    }

    /// The next request received.
    pub fn next(&self) -> Option<Request> {
        let v: serde_json::Value = serde_json::from_str(&self.server.next()?).ok()?;
        Some(Request {
            method: v["method"].as_str()?.to_owned(),
            path: v["path"].as_str()?.to_owned(),
            headers: v["headers"]
                .as_array()?
                .iter()
                .filter_map(|h| Some((h[0].as_str()?.to_owned(), h[1].as_str()?.to_owned())))
                .collect(),
            body: v["body"].as_str()?.to_owned(),
        })
    }
}
