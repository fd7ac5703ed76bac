//! `mplog check FILE...`: reads and checks configuration files without applying them.

use std::path::PathBuf;
use std::process::ExitCode;

use mplog::config::DictConfig;

use crate::CliResult;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration files (.toml, .json, .yaml, .yml, or fileConfig .ini/.conf/.cfg).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Prints `FILE: ok` for each good file and the error for each bad one (which names the
/// file); exits 1 if any was bad. Files are not opened for writing: a handler's directory
/// that does not exist is found when the configuration is applied.
pub fn run(args: Args) -> CliResult {
    let mut failed = false;
    for file in &args.files {
        match DictConfig::from_path(file) {
            Ok(_) => println!("{}: ok", file.display()),
            Err(e) => {
                failed = true;
                println!("{e}");
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
