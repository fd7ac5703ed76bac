//! `mplog send`: one record to a running listener, from a shell script. The exit status is 0
//! only when the listener confirmed that the record was written.
//!
//! It first checks that a listener of the expected uid (its own, or `MPLOG_LISTENER_UID`)
//! serves the endpoint, so a dead listener (a stale socket file) or a wrong one fails at once,
//! with nothing sent. The record goes on the socket transport: one record needs no ring, and
//! none is left behind in the listener's ring directory.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use mplog::handler::Handler;
use mplog::queue::transport::address::{check_listener, check_socket_path, expected_listener_uid};
use mplog::queue::transport::TransportKind;
use mplog::queue::worker::ENV_ENDPOINT;
use mplog::queue::{Delivery, QueueHandler};
use mplog::{Level, Record};

use crate::CliResult;

/// How long `send` waits for the listener to confirm.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The listener's socket (default: `$MPLOG_ENDPOINT`).
    #[arg(long, value_name = "PATH")]
    endpoint: Option<PathBuf>,
    /// Logger name of the record.
    #[arg(long, default_value = "root")]
    logger: String,
    /// Level of the record (a name such as INFO, or a number).
    #[arg(long, default_value = "INFO")]
    level: Level,
    /// `processName` of the record.
    #[arg(long, default_value = "mplog-send")]
    process_name: String,
    /// The message (the words are joined with spaces).
    #[arg(required = true)]
    message: Vec<String>,
}

pub fn run(args: Args) -> CliResult {
    let endpoint = match args.endpoint.clone() {
        Some(path) => path,
        None => match std::env::var_os(ENV_ENDPOINT) {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            Some(_) => {
                return Err(format!(
                    "{ENV_ENDPOINT} is empty: set it to the listener's socket path, or give \
                     --endpoint"
                )
                .into())
            }
            None => {
                return Err(format!(
                    "no listener given: --endpoint PATH, or {ENV_ENDPOINT} set to its socket path"
                )
                .into())
            }
        },
    };
    probe(&endpoint)?;
    let handler = QueueHandler::builder(&endpoint)
        .transport(TransportKind::Socket)
        .delivery(Delivery::Sync)
        .drain_timeout(SEND_TIMEOUT)
        .process_name(&args.process_name)
        .build()?;
    mplog::record::set_process_name(&args.process_name);
    let record = Record::new(&args.logger, args.level, args.message.join(" "));
    handler.handle(&record);
    let confirmed = handler.sync(SEND_TIMEOUT);
    handler.close();
    if confirmed && handler.stats().dropped == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        // A listener confirms only once the record is written: one whose handlers cannot
        // write (a full disk) stays silent, and the record may be lost.
        Err(format!(
            "the listener at {} did not confirm within {} s that the record was written \
             (is its disk full, or its log directory gone? see the listener's errors)",
            endpoint.display(),
            SEND_TIMEOUT.as_secs()
        )
        .into())
    }
}

/// Checks that a listener of the expected uid serves `endpoint` (the connection is a probe:
/// closed without a word, which the listener ignores).
fn probe(endpoint: &Path) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    check_socket_path(endpoint)?;
    let stream = UnixStream::connect(endpoint).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "no listener socket at {} (is `mplog listen` running?)",
            endpoint.display()
        ),
        _ if !is_socket(endpoint) => format!(
            "{} is not a socket: give the listener's socket path",
            endpoint.display()
        ),
        std::io::ErrorKind::ConnectionRefused => format!(
            "no listener at {}: the socket file is stale (its listener is gone)",
            endpoint.display()
        ),
        _ => format!("cannot reach the listener at {}: {e}", endpoint.display()),
    })?;
    check_listener(&stream, endpoint, expected_listener_uid()?)?;
    Ok(())
}

fn is_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
}
