//! `berth`: a daemonless, Docker-compatible container engine with its own OCI runtime.
//!
//! This binary only parses command lines and prints; the work is in the library crates.
//! Invoked as `berth-runc` (or `runc`), it is the runc-compatible OCI runtime
//! (`berth oci …`), so containerd and CRI-O can use it by path.

mod cli;
mod commands;
mod error;
mod format;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = commands::container::monitor::fast_main(&args) {
        return code;
    }
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("berth")
        .to_string();
    if invoked_as == "berth-runc" || invoked_as == "runc" {
        args.insert(1, "oci".into());
    }
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                cli::usage_exit_code(&args)
            } else {
                0
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    commands::dispatch(cli)
}
