//! `COPY` and `ADD`: which files a step reads (context, another stage, an image, a
//! here-document), where they land with Docker's directory rules, their owner and mode,
//! and the cache key parts that describe them (content hashes, never mtimes).

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

use berth_dockerfile::{Heredoc, SourceKind, source_kind};

use crate::cache::KeyBuilder;
use crate::context::{Context, Matched};
use crate::error::{Error, Result};
use crate::layer::{Body, Entry, is_archive};
use crate::lowers::{Lowers, components};
use crate::memo::HashMemo;

/// Where a `COPY --from` reads: a built stage's or an image's root filesystem.
#[derive(Debug)]
pub struct FromRoot {
    /// Identifies the content (state key or image id) for the cache key.
    pub key: String,
    /// Its layers.
    pub lowers: Lowers,
}

/// A `COPY`/`ADD` made uniform.
#[derive(Debug)]
pub struct CopyRequest<'a> {
    /// `COPY` or `ADD`.
    pub instruction: &'static str,
    /// Sources as written (expanded).
    pub sources: &'a [String],
    /// Destination (expanded).
    pub dest: &'a str,
    /// `--chown`.
    pub chown: Option<&'a str>,
    /// `--chmod`.
    pub chmod: Option<&'a str>,
    /// Here-documents of the instruction.
    pub heredocs: &'a [Heredoc],
    /// `--from` resolved.
    pub from: Option<&'a FromRoot>,
    /// `ADD`: extract local archives.
    pub extract: bool,
    /// Downloaded `ADD` URLs: (url, local file).
    pub downloads: &'a [(String, std::path::PathBuf)],
    /// `--exclude` patterns (`.dockerignore` syntax, relative to each source).
    pub excludes: &'a [String],
    /// `--parents`: keep each source's path (after a `/./` pivot) below the destination.
    pub parents: bool,
    /// `--link`: the layer must not depend on the image below (no lookups in it for
    /// the destination or its parents).
    pub link: bool,
}

/// How many leading components `--parents` drops from a source: those before a
/// `/./` pivot (`src/./pkg/a` keeps `pkg/a`), none without one.
fn pivot(src: &str) -> usize {
    let s = src.trim_start_matches("./");
    s.find("/./").map_or(0, |i| components(&s[..i]).len())
}

/// Resolves `USER[:GROUP]` for `--chown` against the image's own passwd and group
/// files; a missing group means the same number as the user, as Docker documents.
pub fn resolve_chown(spec: &str, lowers: &Lowers) -> Result<(u32, u32)> {
    let passwd =
        String::from_utf8_lossy(&lowers.read("/etc/passwd").unwrap_or_default()).into_owned();
    let group =
        String::from_utf8_lossy(&lowers.read("/etc/group").unwrap_or_default()).into_owned();
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let lookup = |name: &str, table: &str, what: &'static str| -> Result<u32> {
        if let Ok(n) = name.parse::<u32>() {
            return Ok(n);
        }
        table
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&name))
            .and_then(|f| f.get(2).and_then(|n| n.parse().ok()))
            .ok_or_else(|| Error::Invalid {
                what,
                value: name.to_owned(),
                hint: format!(
                    "the image has no such {} in its /etc/{}",
                    if what == "--chown user" {
                        "user"
                    } else {
                        "group"
                    },
                    if what == "--chown user" {
                        "passwd"
                    } else {
                        "group"
                    }
                ),
            })
    };
    let uid = lookup(u, &passwd, "--chown user")?;
    let gid = match g {
        Some(g) => lookup(g, &group, "--chown group")?,
        None => uid,
    };
    Ok((uid, gid))
}

fn parse_chmod(s: &str) -> Result<u32> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| Error::Invalid {
            what: "--chmod",
            value: s.to_owned(),
            hint: "use an octal mode such as 755 or 0644".into(),
        })
}

fn mtime(m: &std::fs::Metadata) -> u64 {
    u64::try_from(m.mtime()).unwrap_or(0)
}

/// Plans the step: its entries, and adds what identifies them to `key`.
pub fn plan(
    req: &CopyRequest<'_>,
    workdir: &str,
    image: &Lowers,
    ctx: &Context,
    memo: &mut HashMemo,
    key: &mut KeyBuilder,
) -> Result<Vec<Entry>> {
    let (uid, gid, owned) = match req.chown {
        Some(c) => {
            let (u, g) = resolve_chown(c, image)?;
            (u, g, true)
        }
        None => (0, 0, false),
    };
    let chmod = req.chmod.map(parse_chmod).transpose()?;
    key.add("chown", &format!("{uid}:{gid}:{owned}"));
    key.add("chmod", &format!("{chmod:?}"));
    let dest_abs = if req.dest.starts_with('/') {
        req.dest.to_owned()
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), req.dest)
    };
    // `--link`: the destination is looked up in nothing (so never through the
    // image's symlinks), parents are made fresh.
    let empty = Lowers::default();
    let view = if req.link { &empty } else { image };
    key.add("link", &format!("{}:{}", req.link, req.parents));
    if req.link {
        key.add("workdir", workdir);
    }
    let dest_parts = view.resolve(&dest_abs, true);
    let dest_exists_dir = view.lstat(&dest_parts).is_some_and(|(_, m)| m.is_dir());
    let many = req.sources.len() > 1
        || req.parents
        || req.sources.iter().any(|s| s.contains(['*', '?', '[']));
    let dest_is_dir = req.dest.ends_with('/')
        || req.dest.ends_with("/.")
        || req.dest == "."
        || many
        || dest_exists_dir;

    let exclude = berth_dockerfile::IgnoreMatcher::from_patterns(req.excludes)?;
    key.add("exclude", &req.excludes.join("\0"));
    let mut entries: Vec<Entry> = Vec::new();
    let mut touched_dest_dir = dest_is_dir;
    for src in req.sources {
        let (matched, base): (Vec<Matched>, String) = match source_kind(src, req.heredocs) {
            SourceKind::Heredoc(name) => {
                let Some(h) = req.heredocs.iter().find(|h| h.name == name) else {
                    continue;
                };
                let target = if dest_is_dir {
                    [dest_parts.clone(), vec![name.clone()]].concat().join("/")
                } else {
                    dest_parts.join("/")
                };
                key.add("heredoc", &format!("{target}\0{}", h.content));
                entries.push(Entry {
                    path: target,
                    body: Body::Bytes(h.content.clone().into_bytes()),
                    mode: chmod.unwrap_or(0o644),
                    uid,
                    gid,
                    mtime: 0,
                });
                continue;
            }
            SourceKind::Git => {
                return Err(Error::Source {
                    instruction: req.instruction,
                    source_path: src.clone(),
                    reason: "git sources are not supported by berth's builder".into(),
                });
            }
            SourceKind::Url => {
                let Some((_, file)) = req.downloads.iter().find(|(u, _)| u == src) else {
                    continue;
                };
                let meta = fs_err::metadata(file).map_err(|e| Error::io(file.clone(), e))?;
                let name = src
                    .split(['?', '#'])
                    .next()
                    .and_then(|u| u.rsplit('/').next())
                    .filter(|n| !n.is_empty())
                    .unwrap_or("index.html")
                    .to_owned();
                (
                    vec![Matched {
                        rel: String::new(),
                        host: file.clone(),
                        meta,
                        root: String::new(),
                        top: true,
                    }],
                    name,
                )
            }
            SourceKind::Local => match req.from {
                Some(root) => {
                    key.add("from", &format!("{}\0{src}", root.key));
                    (from_root(req.instruction, src, root)?, last_name(src))
                }
                None => (ctx.collect(req.instruction, src)?, last_name(src)),
            },
        };
        for m in matched {
            if !m.rel.is_empty() && !exclude.is_empty() && exclude.matches(&m.rel) {
                continue;
            }
            let single_file = m.rel.is_empty();
            let target: Vec<String> = if req.parents {
                touched_dest_dir = true;
                let keep = components(&m.root).into_iter().skip(pivot(src));
                let inside = if m.top {
                    Vec::new()
                } else {
                    components(&m.rel)
                };
                dest_parts
                    .iter()
                    .cloned()
                    .chain(keep)
                    .chain(inside)
                    .collect()
            } else if single_file {
                if dest_is_dir {
                    [dest_parts.clone(), vec![base.clone()]].concat()
                } else {
                    dest_parts.clone()
                }
            } else {
                touched_dest_dir = true;
                [dest_parts.clone(), components(&m.rel)].concat()
            };
            let path = target.join("/");
            let ft = m.meta.file_type();
            let mode = chmod.unwrap_or(m.meta.permissions().mode() & 0o7777);
            let (euid, egid) = if owned { (uid, gid) } else { (0, 0) };
            if req.from.is_none() {
                key.add(
                    "meta",
                    &format!("{path}\0{mode:o}\0{}:{}", m.meta.uid(), m.meta.gid()),
                );
            }
            let body = if ft.is_dir() {
                Body::Dir
            } else if ft.is_symlink() {
                let t = fs_err::read_link(&m.host).map_err(|e| Error::io(m.host.clone(), e))?;
                let t = t.to_string_lossy().into_owned();
                key.add("symlink", &t);
                Body::Symlink(t)
            } else if ft.is_file() {
                if req.from.is_none() {
                    key.add("content", &memo.hash(&m.host, &m.meta)?);
                }
                if req.extract && single_file && is_archive(&m.host) {
                    key.add("extract", &path);
                    touched_dest_dir = true;
                    entries.push(Entry {
                        path: dest_parts.join("/"),
                        body: Body::Archive(m.host.clone()),
                        mode,
                        uid: euid,
                        gid: egid,
                        mtime: 0,
                    });
                    continue;
                }
                Body::File(m.host.clone())
            } else {
                // Devices, fifos and sockets are not copied (as Docker).
                continue;
            };
            entries.push(Entry {
                path,
                body,
                mode,
                uid: euid,
                gid: egid,
                mtime: mtime(&m.meta),
            });
        }
    }
    let explicit: std::collections::BTreeSet<String> = entries
        .iter()
        .filter(|e| matches!(e.body, Body::Dir))
        .map(|e| e.path.clone())
        .collect();
    let mut wanted: Vec<Vec<String>> = Vec::new();
    if touched_dest_dir {
        wanted.push(dest_parts.clone());
    }
    for e in &entries {
        let parts = components(&e.path);
        if let Some((_, parents)) = parts.split_last() {
            wanted.push(parents.to_vec());
        }
    }
    let dest_len = dest_parts.len();
    let mut dirs = parent_dirs(view, &wanted, |depth| {
        if depth >= dest_len && owned {
            (uid, gid)
        } else {
            (0, 0)
        }
    });
    dirs.retain(|d| !explicit.contains(&d.path));
    dirs.extend(entries);
    Ok(dirs)
}

/// Directory entries for every ancestor in `wanted` (each a directory path), parents
/// first. A directory the image has keeps its metadata: overlayfs shows the topmost
/// layer's copy, so an implicit root-owned parent would silently re-own it. Missing
/// ones are made 0755, owned as `owner(depth)` says.
pub fn parent_dirs(
    image: &Lowers,
    wanted: &[Vec<String>],
    owner: impl Fn(usize) -> (u32, u32),
) -> Vec<Entry> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for parts in wanted {
        for i in 1..=parts.len() {
            let p = &parts[..i];
            let s = p.join("/");
            if !seen.insert(s.clone()) {
                continue;
            }
            let entry = match image.lstat(p) {
                Some((_, m)) if m.is_dir() => Entry {
                    path: s,
                    body: Body::Dir,
                    mode: m.permissions().mode() & 0o7777,
                    uid: m.uid(),
                    gid: m.gid(),
                    mtime: mtime(&m),
                },
                Some(_) => continue,
                None => {
                    let (u, g) = owner(i);
                    Entry {
                        path: s,
                        body: Body::Dir,
                        mode: 0o755,
                        uid: u,
                        gid: g,
                        mtime: 0,
                    }
                }
            };
            out.push(entry);
        }
    }
    out
}

fn last_name(src: &str) -> String {
    components(src).last().cloned().unwrap_or_default()
}

/// Entries of `src` inside another stage or image.
fn from_root(instruction: &'static str, src: &str, root: &FromRoot) -> Result<Vec<Matched>> {
    let parts = root.lowers.resolve(src, true);
    let Some((host, meta)) = root.lowers.lstat(&parts) else {
        return Err(Error::Source {
            instruction,
            source_path: src.to_owned(),
            reason: "not found in the --from stage or image".into(),
        });
    };
    if !meta.is_dir() {
        return Ok(vec![Matched {
            rel: String::new(),
            host,
            meta,
            root: parts.join("/"),
            top: true,
        }]);
    }
    let mut out = Vec::new();
    walk_lowers(&root.lowers, &parts, "", &mut out)?;
    for m in &mut out {
        m.root = parts.join("/");
    }
    Ok(out)
}

fn walk_lowers(l: &Lowers, dir: &[String], rel: &str, out: &mut Vec<Matched>) -> Result<()> {
    for (name, (host, meta)) in l.children(dir)? {
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let is_dir = meta.is_dir();
        out.push(Matched {
            rel: child_rel.clone(),
            host,
            meta,
            root: String::new(),
            top: false,
        });
        if is_dir {
            let mut d = dir.to_vec();
            d.push(name);
            walk_lowers(l, &d, &child_rel, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_for(
        sources: &[&str],
        dest: &str,
        ctx: &Context,
        image: &Lowers,
    ) -> Vec<(String, String)> {
        let sources: Vec<String> = sources.iter().map(|s| (*s).to_owned()).collect();
        let req = CopyRequest {
            instruction: "COPY",
            sources: &sources,
            dest,
            chown: None,
            chmod: None,
            heredocs: &[],
            from: None,
            extract: false,
            downloads: &[],
            excludes: &[],
            parents: false,
            link: false,
        };
        let memo_dir = tempfile::tempdir().unwrap();
        let mut memo = HashMemo::load(&memo_dir.path().join("m.json"));
        let mut key = KeyBuilder::new("p");
        plan(&req, "/work", image, ctx, &mut memo, &mut key)
            .unwrap()
            .into_iter()
            .map(|e| {
                let kind = match e.body {
                    Body::Dir => format!("dir {:o} {}", e.mode, e.uid),
                    _ => "file".to_owned(),
                };
                (e.path, kind)
            })
            .collect()
    }

    #[test]
    fn parents_pivot() {
        assert_eq!(pivot("x/a.txt"), 0);
        assert_eq!(pivot("./x/a.txt"), 0);
        assert_eq!(pivot("./src/./pkg/a.txt"), 1);
        assert_eq!(pivot("a/b/./c/*.txt"), 2);
    }

    #[test]
    fn destinations_follow_docker_directory_rules() {
        let ctx_dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(ctx_dir.path().join("src/sub")).unwrap();
        fs_err::write(ctx_dir.path().join("src/sub/a.txt"), "a").unwrap();
        fs_err::write(ctx_dir.path().join("one.txt"), "1").unwrap();
        let ctx = Context::dir(ctx_dir.path(), berth_dockerfile::IgnoreMatcher::default());
        let layer = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(layer.path().join("etc")).unwrap();
        fs_err::set_permissions(
            layer.path().join("etc"),
            std::fs::Permissions::from_mode(0o711),
        )
        .unwrap();
        let image = Lowers::new(vec![layer.path().into()]);

        // A directory's contents, not the directory itself.
        let p = plan_for(&["src"], "/app", &ctx, &image);
        let paths: Vec<&str> = p.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["app", "app/sub", "app/sub/a.txt"]);
        // Into an existing directory without a trailing slash; its metadata is kept.
        let p = plan_for(&["one.txt"], "/etc", &ctx, &image);
        assert_eq!(
            p,
            [
                ("etc".into(), "dir 711 0".into()),
                ("etc/one.txt".into(), "file".into())
            ]
        );
        // A new name; a relative destination is under WORKDIR.
        let p = plan_for(&["one.txt"], "renamed.txt", &ctx, &image);
        assert_eq!(p.last().unwrap().0, "work/renamed.txt");
        assert_eq!(p[0], ("work".into(), "dir 755 0".into()));
        // A missing source names itself.
        let sources = vec!["nope".to_owned()];
        let req = CopyRequest {
            instruction: "COPY",
            sources: &sources,
            dest: "/x",
            chown: None,
            chmod: None,
            heredocs: &[],
            from: None,
            extract: false,
            downloads: &[],
            excludes: &[],
            parents: false,
            link: false,
        };
        let mut memo = HashMemo::default();
        let err = plan(
            &req,
            "/",
            &image,
            &ctx,
            &mut memo,
            &mut KeyBuilder::new("p"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "COPY: nope: not found in the build context"
        );
    }

    #[test]
    fn chown_resolves_names_in_the_image() {
        let layer = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(layer.path().join("etc")).unwrap();
        fs_err::write(
            layer.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n",
        )
        .unwrap();
        fs_err::write(layer.path().join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
        let image = Lowers::new(vec![layer.path().into()]);
        assert_eq!(resolve_chown("node", &image).unwrap(), (1000, 1000));
        assert_eq!(resolve_chown("node:staff", &image).unwrap(), (1000, 50));
        assert_eq!(resolve_chown("7:8", &image).unwrap(), (7, 8));
        assert!(resolve_chown("ghost", &image).is_err());
    }
}
