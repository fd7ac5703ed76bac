//! `mplog send`: one record to a running listener, from a shell script. The exit status is 0
//! only when the listener confirmed that the record was written.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use mplog::handler::Handler;
use mplog::queue::{Delivery, QueueHandler};
use mplog::{Level, Record};

use crate::CliResult;

/// How long `send` waits for the listener to confirm.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The listener's socket (default: `$MPLOG_ENDPOINT`).
    #[arg(long, value_name = "PATH", env = "MPLOG_ENDPOINT")]
    endpoint: PathBuf,
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
    if !args.endpoint.exists() {
        return Err(format!(
            "no listener socket at {} (is `mplog listen` running?)",
            args.endpoint.display()
        )
        .into());
    }
    let handler = QueueHandler::builder(&args.endpoint)
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
            args.endpoint.display(),
            SEND_TIMEOUT.as_secs()
        )
        .into())
    }
}
