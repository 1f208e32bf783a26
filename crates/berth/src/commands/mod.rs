//! One module per command; `dispatch` routes a parsed command line.

// build command
pub mod build;
// end of build command
// compose commands
pub mod compose;
// end of compose commands
pub mod container;
pub mod image;
pub mod network;
pub mod oci;
pub mod system;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use berth_engine::Paths;

/// Runs the parsed command and returns the process exit code.
pub fn dispatch(cli: Cli) -> ExitCode {
    let paths = Paths::new(cli.root.as_ref(), cli.config.as_ref()).with_run(cli.runroot);
    match cli.command {
        Command::Oci(args) => oci::main(&paths, *args),
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
        // container commands
        Command::Run(a) => container::run::main(&paths, a),
        Command::Create(a) => container::create::main(&paths, a),
        Command::Start(a) => container::start::main(&paths, a),
        Command::Ps(a) => container::done(container::ps::run(&paths, &a)),
        Command::Stop(a) => container::done(container::stop::run(&paths, &a)),
        Command::Kill(a) => container::done(container::kill::run(&paths, &a)),
        Command::Restart(a) => container::done(container::restart::run(&paths, &a)),
        Command::Rm(a) => container::done(container::rm::run(&paths, &a)),
        Command::Logs(a) => container::done(container::logs::run(&paths, &a)),
        Command::Inspect(a) => container::done(container::inspect::run(&paths, &a)),
        Command::Exec(a) => container::exec::main(&paths, a),
        Command::Wait(a) => container::done(container::wait::run(&paths, &a)),
        Command::Attach(a) => container::attach::main(&paths, a),
        Command::Pause(a) => container::done(container::pause::run(&paths, &a, true)),
        Command::Unpause(a) => container::done(container::pause::run(&paths, &a, false)),
        Command::Rename(a) => container::done(container::rename::run(&paths, &a)),
        Command::Top(a) => container::done(container::top::run(&paths, &a)),
        Command::Commit(a) => container::done(container::commit::run(&paths, &a)),
        Command::Cp(a) => container::done(container::cp::run(&paths, &a)),
        Command::Diff(a) => container::done(container::diff::run(&paths, &a)),
        Command::Export(a) => container::done(container::export::run(&paths, &a)),
        Command::Events(a) => container::done(container::events::run(&paths, &a)),
        Command::Stats(a) => container::done(container::stats::run(&paths, &a)),
        Command::Port(a) => container::done(container::port::run(&paths, &a)),
        Command::Update(a) => container::done(container::update::run(&paths, &a)),
        Command::Container(a) => container::main(&paths, a),
        Command::Volume(a) => container::volume::main(&paths, a),
        Command::Monitor(a) => container::monitor::main(&paths, a),
        Command::Init(a) => container::monitor::init(&a),
        // end of container commands
        // network commands
        Command::Network(a) => network::main(&paths, a),
        Command::Dns(a) => network::dns_main(&a),
        Command::Proxy(a) => network::proxy_main(&a),
        // end of network commands
        // compose commands
        Command::Compose(a) => compose::main(&paths, a),
        // end of compose commands
        // system commands
        Command::System(a) => system::main(&paths, a),
        Command::Builder(a) => system::builder(&paths, a),
        Command::Info(a) => container::done(system::info::info(&paths, &a)),
        Command::Version(a) => container::done(system::info::version(&a)),
        // end of system commands
    }
}
