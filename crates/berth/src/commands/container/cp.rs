//! `berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-` and
//! `berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`, with Docker's rules: copying
//! onto an existing directory puts the source inside it, otherwise the copy takes the
//! destination's name; `-` is a tar stream on stdin or stdout.

use std::io::Write as _;
use std::path::Path;

use berth_engine::Paths;
use berth_engine::containers::copy::{Kind, tar_host_path, untar_to_host_with};
use clap::Args;

/// Copy files/folders between a container and the local filesystem.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information); without it the copies belong to
    /// the user at the destination (the container's root, or the user running berth).
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH (without it a link is copied as a link).
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Suppress progress output (berth prints none).
    #[arg(short, long)]
    pub quiet: bool,
    /// Source: CONTAINER:PATH, a local path, or - (a tar stream on stdin).
    pub src: String,
    /// Destination: CONTAINER:PATH, a local path, or - (a tar stream on stdout).
    pub dest: String,
}

/// `CONTAINER:PATH` split, if it is one (a local path with a slash before any colon is
/// local, as Docker reads it).
fn container_part(s: &str) -> Option<(&str, &str)> {
    let (c, p) = s.split_once(':')?;
    if c.is_empty() || c.contains('/') {
        return None;
    }
    Some((c, if p.is_empty() { "/" } else { p }))
}

fn base_name(p: &str) -> String {
    Path::new(p.trim_end_matches('/'))
        .file_name()
        .map_or_else(|| ".".to_owned(), |n| n.to_string_lossy().into_owned())
}

fn parent(p: &str) -> String {
    Path::new(p.trim_end_matches('/'))
        .parent()
        .map_or_else(|| "/".to_owned(), |d| d.to_string_lossy().into_owned())
}

/// Runs `berth cp`.
pub fn run(paths: &Paths, args: &CpArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    match (container_part(&args.src), container_part(&args.dest)) {
        (Some(_), Some(_)) => anyhow::bail!(
            "copying between containers is not supported\nhint: copy to the host first"
        ),
        (None, None) => {
            anyhow::bail!("one of source or destination must be a container path (CONTAINER:PATH)")
        }
        (Some((c, path)), None) => {
            if engine.cp_stat(c, path)?.is_none() {
                anyhow::bail!("could not find the file {path} in container {c}");
            }
            if args.dest == "-" {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                engine.cp_out_with(c, path, &base_name(path), &mut out, args.follow_link)?;
                out.flush()?;
                return Ok(());
            }
            let dest = Path::new(&args.dest);
            let (dir, name) = if dest.is_dir() {
                (dest.to_path_buf(), base_name(path))
            } else {
                let p = dest
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                if !p.is_dir() {
                    anyhow::bail!("destination directory {} does not exist", p.display());
                }
                (p.to_path_buf(), base_name(&args.dest))
            };
            let mut data = Vec::new();
            engine.cp_out_with(c, path, &name, &mut data, args.follow_link)?;
            untar_to_host_with(&data[..], &dir, args.archive)?;
        }
        (None, Some((c, path))) => {
            if args.src == "-" {
                match engine.cp_stat(c, path)? {
                    Some(Kind::Dir) => {
                        engine.cp_in_with(c, path, std::io::stdin().lock(), args.archive)?;
                    }
                    _ => anyhow::bail!(
                        "destination {path} must be a directory in container {c} when copying a tar stream"
                    ),
                }
                return Ok(());
            }
            let src = Path::new(&args.src);
            if fs_err::symlink_metadata(src).is_err() {
                anyhow::bail!("could not find the file {} on the host", src.display());
            }
            let (dir, name) = match engine.cp_stat(c, path)? {
                Some(Kind::Dir) => (path.to_owned(), base_name(&args.src)),
                _ => (parent(path), base_name(path)),
            };
            // -L: the link's target, under the link's name.
            let src = if args.follow_link {
                fs_err::canonicalize(src)?
            } else {
                src.to_path_buf()
            };
            let data = tar_host_path(&src, &name)?;
            engine.cp_in_with(c, &dir, &data[..], args.archive)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths_are_recognised_like_docker() {
        assert_eq!(container_part("web:/etc"), Some(("web", "/etc")));
        assert_eq!(container_part("web:"), Some(("web", "/")));
        assert_eq!(container_part("./a:b"), None);
        assert_eq!(container_part("/tmp/x"), None);
        assert_eq!(base_name("/etc/hosts"), "hosts");
        assert_eq!(parent("/etc/hosts"), "/etc");
        assert_eq!(parent("/x"), "/");
    }
}
