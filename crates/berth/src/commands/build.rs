//! `berth build [OPTIONS] PATH | -`: Docker's classic `build` flags over berth-build.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use berth_build::{BuildOptions, Context, build};
use berth_dockerfile::{IgnoreMatcher, ignore_file_candidates};
use berth_engine::Paths;
use clap::Args;

/// Build an image from a Dockerfile.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name of the Dockerfile (default: PATH/Dockerfile; `-` reads it from STDIN).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<String>,
    /// Name and optionally a tag in the name:tag format.
    #[arg(short = 't', long = "tag", value_name = "NAME")]
    pub tags: Vec<String>,
    /// Set build-time variables (KEY=VALUE, or KEY to take it from the environment).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Do not use cache when building the image.
    #[arg(long)]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the base images.
    #[arg(long)]
    pub pull: bool,
    /// Set metadata for an image (KEY=VALUE).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Write the image ID to the file.
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Suppress the build output and print image ID on success.
    #[arg(short, long)]
    pub quiet: bool,
    /// Type of progress output (berth prints classic step lines for all three).
    #[arg(long, default_value = "auto", value_parser = ["auto", "plain", "tty"])]
    pub progress: String,
    /// Networking mode for the RUN instructions: default, none or host.
    #[arg(long, value_parser = ["default", "none", "host", "bridge"])]
    pub network: Option<String>,
    /// Secret to expose to the build (id=ID,src=FILE or id=ID,env=VARIABLE).
    #[arg(long = "secret", value_name = "SPEC")]
    pub secrets: Vec<String>,
    /// SSH agent socket to expose to the build (default|ID[=SOCKET]).
    #[arg(long = "ssh", value_name = "SPEC")]
    pub ssh: Vec<String>,
    /// Set the platform (only this host's platform is supported).
    #[arg(long)]
    pub platform: Option<String>,
    /// Build context: a directory, or `-` for a tar archive or a Dockerfile on STDIN.
    pub context: String,
}

fn key_values(
    items: &[String],
    from_env: bool,
    flag: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for i in items {
        match i.split_once('=') {
            Some((k, v)) if !k.is_empty() => out.push((k.to_owned(), v.to_owned())),
            None if from_env && !i.is_empty() => {
                if let Ok(v) = std::env::var(i) {
                    out.push((i.clone(), v));
                }
            }
            _ => bail!("invalid {flag} value {i:?}\nhint: use KEY=VALUE"),
        }
    }
    Ok(out)
}

fn is_tar(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b]) || head.get(257..262) == Some(b"ustar".as_slice())
}

fn read_ignore(ctx_root: &Path, dockerfile: Option<&Path>) -> anyhow::Result<IgnoreMatcher> {
    let candidates = match dockerfile {
        Some(d) => ignore_file_candidates(d),
        None => vec![PathBuf::from(".dockerignore")],
    };
    for c in candidates {
        let p = if c.is_absolute() { c } else { ctx_root.join(c) };
        if let Ok(text) = fs_err::read_to_string(&p) {
            return Ok(IgnoreMatcher::parse_named(&text, &p.display().to_string())?);
        }
    }
    Ok(IgnoreMatcher::default())
}

/// Runs `build`; a failed build exits 1 like Docker's.
pub fn main(paths: &Paths, args: &BuildArgs) -> ExitCode {
    match run(paths, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "Error: {}", crate::error::render(&e));
            ExitCode::from(1)
        }
    }
}

fn run(paths: &Paths, args: &BuildArgs) -> anyhow::Result<()> {
    if let Some(p) = &args.platform {
        let want = berth_image::Platform::parse(p)?;
        let host = berth_image::Platform::host();
        if want.os != host.os || want.architecture != host.architecture {
            bail!(
                "platform {p} is not this host's ({}/{})\nhint: berth builds for the host's platform only; drop --platform",
                host.os,
                host.architecture
            );
        }
    }
    let engine = super::image::engine(paths)?;
    let tmp = engine.store().root().join("tmp");
    fs_err::create_dir_all(&tmp)?;
    let stdin_dockerfile = args.file.as_deref() == Some("-");
    let (context, dockerfile, name) = if args.context == "-" {
        if stdin_dockerfile {
            bail!(
                "the context and the Dockerfile cannot both come from STDIN\nhint: give a context directory or a -f FILE"
            );
        }
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .context("reading STDIN")?;
        if is_tar(&buf) {
            let reader: Box<dyn std::io::Read> = if buf.starts_with(&[0x1f, 0x8b]) {
                Box::new(flate2::read::GzDecoder::new(&buf[..]))
            } else {
                Box::new(&buf[..])
            };
            let mut ctx = Context::from_tar(reader, &tmp)?;
            let name = args.file.clone().unwrap_or_else(|| "Dockerfile".into());
            let df_path = ctx.root().join(&name);
            let text = fs_err::read_to_string(&df_path)
                .with_context(|| format!("reading {name} from the context on STDIN"))?;
            let ignore = read_ignore(ctx.root(), Some(Path::new(&name)))?;
            ctx.set_ignore(ignore);
            (ctx, text, name)
        } else {
            let ctx = Context::from_tar(std::io::empty(), &tmp).or_else(
                |_| -> anyhow::Result<Context> { bail!("cannot make an empty context") },
            )?;
            (
                ctx,
                String::from_utf8_lossy(&buf).into_owned(),
                "Dockerfile".to_owned(),
            )
        }
    } else {
        let root = PathBuf::from(&args.context);
        if !root.is_dir() {
            bail!(
                "unable to prepare context: path {:?} not found\nhint: give the context directory, e.g. `berth build .`",
                args.context
            );
        }
        let (text, name, df_path) = if stdin_dockerfile {
            let mut s = String::new();
            std::io::stdin()
                .lock()
                .read_to_string(&mut s)
                .context("reading the Dockerfile from STDIN")?;
            (s, "Dockerfile".to_owned(), None)
        } else {
            let p = match &args.file {
                Some(f) => PathBuf::from(f),
                None => root.join("Dockerfile"),
            };
            let text =
                fs_err::read_to_string(&p).with_context(|| "reading the Dockerfile".to_string())?;
            let name = args.file.clone().unwrap_or_else(|| "Dockerfile".into());
            (text, name, Some(p))
        };
        let ignore = read_ignore(&root, df_path.as_deref())?;
        (Context::dir(&root, ignore), text, name)
    };
    let mut opts = BuildOptions::new(dockerfile, name, context);
    opts.tags.clone_from(&args.tags);
    opts.build_args = key_values(&args.build_args, true, "--build-arg")?
        .into_iter()
        .collect::<HashMap<_, _>>();
    opts.target.clone_from(&args.target);
    opts.no_cache = args.no_cache;
    opts.pull = args.pull;
    opts.labels = key_values(&args.labels, false, "--label")?;
    opts.network = args
        .network
        .clone()
        .map(|n| if n == "bridge" { "default".into() } else { n });
    opts.step_output = if args.quiet { None } else { Some(1) };
    opts.secrets = args
        .secrets
        .iter()
        .map(|s| berth_build::Secret::parse(s))
        .collect::<Result<_, _>>()?;
    opts.ssh = args
        .ssh
        .iter()
        .map(|s| berth_build::SshAgent::parse(s))
        .collect::<Result<_, _>>()?;
    let outcome = if args.quiet {
        build(&engine, &opts, &mut std::io::sink())?
    } else {
        build(&engine, &opts, &mut std::io::stdout())?
    };
    if args.quiet {
        writeln!(std::io::stdout(), "{}", outcome.id)?;
    }
    if let Some(f) = &args.iidfile {
        fs_err::write(f, &outcome.id)?;
    }
    Ok(())
}
