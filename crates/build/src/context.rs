//! The build context: a directory read in place (never copied), or a tar from stdin
//! unpacked into a temporary directory, filtered by `.dockerignore`.

use std::fs::Metadata;
use std::io::Read;
use std::path::{Path, PathBuf};

use berth_dockerfile::IgnoreMatcher;

use crate::error::{Error, Result};
use crate::lowers::components;

/// One file system object a `COPY` source matched.
#[derive(Debug, Clone)]
pub struct Matched {
    /// Where it lands relative to the destination (`""`: the destination itself
    /// when a single file is copied).
    pub rel: String,
    /// Host path.
    pub host: PathBuf,
    /// Its metadata (symlinks not followed).
    pub meta: Metadata,
    /// The source path it was found under (context- or stage-relative, `/`-joined):
    /// the file itself or the directory `rel` is inside (what `--parents` keeps).
    pub root: String,
    /// The entry is the source itself (not something inside a directory source).
    pub top: bool,
}

/// A build context.
#[derive(Debug)]
pub struct Context {
    root: PathBuf,
    ignore: IgnoreMatcher,
    _tmp: Option<tempfile::TempDir>,
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl Context {
    /// A directory context with its ignore rules.
    pub fn dir(root: &Path, ignore: IgnoreMatcher) -> Context {
        Context {
            root: root.to_owned(),
            ignore,
            _tmp: None,
        }
    }

    /// A context from a tar stream, unpacked under `tmp_parent`.
    pub fn from_tar(input: impl Read, tmp_parent: &Path) -> Result<Context> {
        let tmp = tempfile::Builder::new()
            .prefix("build-context-")
            .tempdir_in(tmp_parent)
            .map_err(|e| Error::io(tmp_parent, e))?;
        let mut ar = tar::Archive::new(input);
        ar.set_preserve_permissions(true);
        ar.unpack(tmp.path())
            .map_err(|e| Error::io(tmp.path(), e))?;
        Ok(Context {
            root: tmp.path().to_owned(),
            ignore: IgnoreMatcher::default(),
            _tmp: Some(tmp),
        })
    }

    /// Sets the ignore rules (read from the context after it is known).
    pub fn set_ignore(&mut self, ignore: IgnoreMatcher) {
        self.ignore = ignore;
    }

    /// The context's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Everything source `src` (as written, relative to the context) matches.
    pub fn collect(&self, instruction: &'static str, src: &str) -> Result<Vec<Matched>> {
        let parts = components(src);
        let mut out = Vec::new();
        let err = |reason: &str| Error::Source {
            instruction,
            source_path: src.to_owned(),
            reason: reason.to_owned(),
        };
        let roots: Vec<Vec<String>> = if has_glob(src) {
            let mut found = Vec::new();
            self.glob(&parts, 0, &mut Vec::new(), &mut found)?;
            if found.is_empty() {
                return Err(err("no source files were specified"));
            }
            found
        } else {
            vec![parts]
        };
        let single = roots.len() == 1;
        for rel in roots {
            let rel_s = rel.join("/");
            if !rel_s.is_empty() && self.ignore.matches(&rel_s) {
                if single {
                    return Err(err(
                        "excluded by .dockerignore, or not found in the build context",
                    ));
                }
                continue;
            }
            let host = self.root.join(&rel_s);
            let meta = fs_err::symlink_metadata(&host)
                .map_err(|_| err("not found in the build context"))?;
            let start = out.len();
            if meta.is_dir() {
                self.walk(&rel, &host, "", &mut out)?;
            } else {
                let name = if single {
                    String::new()
                } else {
                    rel.last().cloned().unwrap_or_default()
                };
                out.push(Matched {
                    rel: name,
                    host,
                    meta,
                    root: String::new(),
                    top: true,
                });
            }
            for m in &mut out[start..] {
                m.root.clone_from(&rel_s);
            }
        }
        Ok(out)
    }

    fn glob(
        &self,
        parts: &[String],
        i: usize,
        prefix: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) -> Result<()> {
        let Some(part) = parts.get(i) else {
            out.push(prefix.clone());
            return Ok(());
        };
        if !has_glob(part) {
            prefix.push(part.clone());
            if self.root.join(prefix.join("/")).symlink_metadata().is_ok() {
                self.glob(parts, i + 1, prefix, out)?;
            }
            prefix.pop();
            return Ok(());
        }
        let pat = glob::Pattern::new(part).map_err(|e| Error::Source {
            instruction: "COPY",
            source_path: parts.join("/"),
            reason: e.to_string(),
        })?;
        let dir = self.root.join(prefix.join("/"));
        let Ok(rd) = fs_err::read_dir(&dir) else {
            return Ok(());
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| pat.matches(n))
            .collect();
        names.sort();
        for n in names {
            prefix.push(n);
            self.glob(parts, i + 1, prefix, out)?;
            prefix.pop();
        }
        Ok(())
    }

    /// The contents of a directory (not the directory itself), ignore rules applied.
    fn walk(
        &self,
        ctx_rel: &[String],
        host: &Path,
        rel: &str,
        out: &mut Vec<Matched>,
    ) -> Result<()> {
        self.walk_into(ctx_rel, host, rel, out)
    }

    fn walk_into(
        &self,
        ctx_rel: &[String],
        host: &Path,
        rel: &str,
        out: &mut Vec<Matched>,
    ) -> Result<()> {
        let rd = fs_err::read_dir(host).map_err(|e| Error::io(host, e))?;
        let mut entries: Vec<_> = rd.filter_map(std::result::Result::ok).collect();
        entries.sort_by_key(fs_err::DirEntry::file_name);
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let mut ctx_path = ctx_rel.to_vec();
            ctx_path.extend(components(&child_rel));
            let ctx_s = ctx_path.join("/");
            let p = e.path();
            let meta = fs_err::symlink_metadata(&p).map_err(|e| Error::io(p.clone(), e))?;
            let is_dir = meta.is_dir();
            if self.ignore.matches(&ctx_s) {
                if is_dir && !self.ignore.can_skip_dir(&ctx_s) {
                    self.walk_into(ctx_rel, &p, &child_rel, out)?;
                }
                continue;
            }
            out.push(Matched {
                rel: child_rel.clone(),
                host: p.clone(),
                meta,
                root: String::new(),
                top: false,
            });
            if is_dir {
                self.walk_into(ctx_rel, &p, &child_rel, out)?;
            }
        }
        Ok(())
    }
}
