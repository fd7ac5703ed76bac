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
    /// Refuse a file with warnings (keys that Python ignores and so have no effect).
    #[arg(long)]
    strict: bool,
}

/// Prints `FILE: warning: ...` for each key the file has that Python ignores (it has no
/// effect), then `FILE: ok` for each good file, or the error of a bad one (which names the
/// file); exits 1 if any was bad, or, with `--strict`, had a warning. Files are not opened
/// for writing: a handler's directory that does not exist is found when the configuration is
/// applied. `mplog listen` reads files exactly as this does: what passes here, it accepts.
pub fn run(args: Args) -> CliResult {
    let mut failed = false;
    for file in &args.files {
        match DictConfig::from_path(file) {
            Ok(cfg) => {
                for w in cfg.warnings() {
                    println!("{}: warning: {w}", file.display());
                }
                let n = cfg.warnings().len();
                if args.strict && n > 0 {
                    failed = true;
                    println!(
                        "{}: {n} warning{} (--strict refuses them)",
                        file.display(),
                        if n == 1 { "" } else { "s" }
                    );
                } else {
                    println!("{}: ok", file.display());
                }
            }
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
