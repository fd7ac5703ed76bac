//! A real SMTP server for the tests: Python's aiosmtpd on loopback, optionally requiring
//! STARTTLS (with the test's certificates) and AUTH (user `mplog`, password `secret`). Each
//! mail it receives is printed as one JSON line: `{"from", "to", "content"}` (content as
//! latin-1 text, so bytes survive).

use super::servers::{self, Certs, PythonServer};

const SERVER: &str = r#"
import asyncio, json, socket, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

class Handler:
    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                          "content": envelope.original_content.decode("latin-1")}), flush=True)
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"mplog" and auth_data.password == b"secret"
    return AuthResult(success=ok)

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
kwargs = {}
if len(sys.argv) > 1:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    kwargs = dict(tls_context=ctx, require_starttls=True, auth_required=True,
                  auth_require_tls=True, authenticator=authenticator)
controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
controller.start()
print(port, flush=True)
while True:
    time.sleep(3600)
"#;

/// A received mail.
#[derive(Debug, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub content: Vec<u8>,
}

pub struct SmtpServer {
    server: PythonServer,
    pub port: u16,
}

impl SmtpServer {
    /// Starts aiosmtpd; with `tls`, STARTTLS and AUTH are required.
    pub fn start(tls: Option<&Certs>) -> Option<SmtpServer> {
        if let Err(why) = servers::python_has("aiosmtpd") {
            return servers::missing("aiosmtpd (pip install aiosmtpd)", &why);
        }
        let args: Vec<String> = match tls {
            Some(c) => vec![
                c.server_cert.display().to_string(),
                c.server_key.display().to_string(),
            ],
            None => Vec::new(),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = PythonServer::start(SERVER, &args).expect("aiosmtpd starts");
        Some(SmtpServer {
            port: server.port,
            server,
        })
    }

    /// The next mail received.
    pub fn next(&self) -> Option<Mail> {
        let line = self.server.next()?;
        parse(&line)
    }

    /// A mail received within `wait`, if any.
    pub fn try_next(&self, wait: std::time::Duration) -> Option<Mail> {
        parse(&self.server.try_next(wait)?)
    }
}

fn parse(line: &str) -> Option<Mail> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(Mail {
        from: v["from"].as_str()?.to_owned(),
        to: v["to"]
            .as_array()?
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        content: v["content"].as_str()?.chars().map(|c| c as u8).collect(),
    })
}
