//! `berth login`, `berth logout`, `berth search`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use berth_engine::Paths;
use clap::Args;

/// Log in to a registry (credentials go to Docker's config.json).
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username.
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (prefer --password-stdin).
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from STDIN.
    #[arg(long)]
    pub password_stdin: bool,
    /// The registry (default: Docker Hub).
    pub server: Option<String>,
}

/// Log out from a registry.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry (default: Docker Hub).
    pub server: Option<String>,
}

/// Search a registry for repositories.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Max number of results.
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// REGISTRY/TERM, or TERM for Docker Hub.
    pub term: String,
}

fn server(s: Option<&String>) -> String {
    s.map_or_else(
        || "docker.io".to_owned(),
        |s| {
            s.trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned()
        },
    )
}

/// Runs `login`.
pub fn run_login(paths: &Paths, args: &LoginArgs) -> anyhow::Result<()> {
    let host = server(args.server.as_ref());
    let username = match &args.username {
        Some(u) => u.clone(),
        None => {
            if !std::io::stdin().is_terminal() {
                anyhow::bail!(
                    "cannot perform an interactive login from a non TTY device\nhint: pass --username and --password-stdin"
                );
            }
            eprint!("Username: ");
            let mut u = String::new();
            std::io::stdin().lock().read_line(&mut u)?;
            u.trim().to_owned()
        }
    };
    let password = if args.password_stdin {
        if args.password.is_some() {
            anyhow::bail!("--password and --password-stdin are mutually exclusive");
        }
        let mut p = String::new();
        std::io::stdin().lock().read_line(&mut p)?;
        p.trim_end_matches(['\n', '\r']).to_owned()
    } else if let Some(p) = &args.password {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        p.clone()
    } else {
        anyhow::bail!("a password is needed\nhint: pass --password-stdin and pipe it in");
    };
    let engine = super::engine(paths)?;
    engine.login(&host, &username, &password)?;
    writeln!(std::io::stdout(), "Login Succeeded")?;
    Ok(())
}

/// Runs `logout`.
pub fn run_logout(paths: &Paths, args: &LogoutArgs) -> anyhow::Result<()> {
    let host = server(args.server.as_ref());
    let engine = super::engine(paths)?;
    if engine.logout(&host)? {
        writeln!(std::io::stdout(), "Removing login credentials for {host}")?;
    } else {
        writeln!(std::io::stdout(), "Not logged in to {host}")?;
    }
    Ok(())
}

/// Runs `search` (the registry API's catalog, filtered; Docker Hub has no catalog).
pub fn run_search(paths: &Paths, args: &SearchArgs) -> anyhow::Result<()> {
    let (host, term) = match args.term.split_once('/') {
        Some((h, t)) if h.contains('.') || h.contains(':') || h == "localhost" => {
            (h.to_owned(), t.to_owned())
        }
        _ => ("docker.io".to_owned(), args.term.clone()),
    };
    let engine = super::engine(paths)?;
    let found = engine.search(&host, &term)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "NAME")?;
    for name in found.iter().take(args.limit) {
        writeln!(out, "{host}/{name}")?;
    }
    Ok(())
}
