//! One module per command; `dispatch` routes a parsed command line.

// build command
pub mod build;
// end of build command
pub mod image;
pub mod oci;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use berth_engine::Paths;

/// Runs the parsed command and returns the process exit code.
pub fn dispatch(cli: Cli) -> ExitCode {
    let paths = Paths::new(cli.root.as_ref(), cli.config.as_ref());
    match cli.command {
        Command::Oci(args) => oci::main(&paths, args),
        // image commands
        Command::Image(args) => image::main(&paths, args),
        Command::Load(a) => image::finish(image::load::run(&paths, &a)),
        Command::Import(a) => image::finish(image::import::run(&paths, &a)),
        Command::Pull(a) => image::finish(image::pull::run(&paths, &a)),
        Command::Push(a) => image::finish(image::push::run(&paths, &a)),
        Command::Images(a) => image::finish(image::ls::run(&paths, &a)),
        Command::Rmi(a) => image::finish(image::rm::run(&paths, &a)),
        Command::Tag(a) => image::finish(image::tag::run(&paths, &a)),
        Command::History(a) => image::finish(image::history::run(&paths, &a)),
        Command::Save(a) => image::finish(image::save::run(&paths, &a)),
        Command::Login(a) => image::finish(image::login::run_login(&paths, &a)),
        Command::Logout(a) => image::finish(image::login::run_logout(&paths, &a)),
        Command::Search(a) => image::finish(image::login::run_search(&paths, &a)),
        // end of image commands
        // build command
        Command::Build(a) => build::main(&paths, &a),
        // end of build command
        Command::Version => {
            println!("berth version {}", env!("CARGO_PKG_VERSION"));
            println!("OCI runtime spec: 1.2.0 (berth oci, berth-runc)");
            match berth_cgroups::detect() {
                Ok(m) => println!("cgroups: {m:?}"),
                Err(e) => println!("cgroups: unavailable ({e})"),
            }
            ExitCode::SUCCESS
        }
    }
}
