//! `COPY` and `ADD`: sources, destination, and their flags.

use crate::error::Result;
use crate::expand::{Env, Expander};
use crate::flags;
use crate::heredoc::Heredoc;
use crate::instructions::Ctx;
use crate::words::{self, Json};

/// A `COPY` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// `--from`: a stage name, a stage index or an image reference.
    pub from: Option<String>,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--parents`: keep the sources' parent directories.
    pub parents: bool,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
    /// Sources, as written (`<<EOF` for a here-document).
    pub sources: Vec<String>,
    /// Destination.
    pub dest: String,
    /// Here-documents used as sources.
    pub heredocs: Vec<Heredoc>,
}

/// An `ADD` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
    /// `--checksum=sha256:…` for URL sources.
    pub checksum: Option<String>,
    /// `--keep-git-dir` for Git sources.
    pub keep_git_dir: bool,
    /// `--link`.
    pub link: bool,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
    /// Sources: local paths (archives are extracted), URLs, Git repositories.
    pub sources: Vec<String>,
    /// Destination.
    pub dest: String,
    /// Here-documents used as sources.
    pub heredocs: Vec<Heredoc>,
}

/// What a `COPY`/`ADD` source is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// A path in the context (or in `--from`).
    Local,
    /// An `http://` or `https://` URL (ADD only).
    Url,
    /// A Git repository (`git@…`, `git://…`, `https://….git`; ADD only).
    Git,
    /// A here-document, by delimiter name.
    Heredoc(String),
}

/// Classifies a source; `heredocs` are the instruction's here-documents.
#[must_use]
pub fn source_kind(source: &str, heredocs: &[Heredoc]) -> SourceKind {
    if let Some(name) = source.strip_prefix("<<") {
        let name = name.trim_start_matches('-').trim_matches(['"', '\'']);
        if heredocs.iter().any(|h| h.name == name) {
            return SourceKind::Heredoc(name.to_string());
        }
    }
    let lower = source.to_ascii_lowercase();
    let is_http = lower.starts_with("http://") || lower.starts_with("https://");
    let git_suffix = lower.split('#').next().is_some_and(|s| s.ends_with(".git"));
    if lower.starts_with("git://") || lower.starts_with("git@") || (is_http && git_suffix) {
        SourceKind::Git
    } else if is_http {
        SourceKind::Url
    } else {
        SourceKind::Local
    }
}

fn expand_opt(
    v: Option<&String>,
    x: &Expander,
    env: &(impl Env + ?Sized),
) -> Result<Option<String>> {
    v.map(|s| x.word(s, env)).transpose()
}

fn expand_sources(
    sources: &[String],
    heredocs: &[Heredoc],
    x: &Expander,
    env: &(impl Env + ?Sized),
) -> Result<Vec<String>> {
    sources
        .iter()
        .map(|s| match source_kind(s, heredocs) {
            SourceKind::Heredoc(_) => Ok(s.clone()),
            _ => x.word(s, env),
        })
        .collect()
}

fn expand_list(v: &[String], x: &Expander, env: &(impl Env + ?Sized)) -> Result<Vec<String>> {
    v.iter().map(|s| x.word(s, env)).collect()
}

impl Copy {
    pub(crate) fn expand(&self, x: &Expander, env: &(impl Env + ?Sized)) -> Result<Copy> {
        Ok(Copy {
            from: expand_opt(self.from.as_ref(), x, env)?,
            chown: expand_opt(self.chown.as_ref(), x, env)?,
            chmod: expand_opt(self.chmod.as_ref(), x, env)?,
            link: self.link,
            parents: self.parents,
            excludes: expand_list(&self.excludes, x, env)?,
            sources: expand_sources(&self.sources, &self.heredocs, x, env)?,
            dest: x.word(&self.dest, env)?,
            heredocs: self.heredocs.clone(),
        })
    }

    pub(crate) fn expandable_words(&self) -> Vec<&str> {
        let mut v: Vec<&str> = [&self.from, &self.chown, &self.chmod]
            .into_iter()
            .filter_map(|o| o.as_deref())
            .collect();
        v.extend(self.excludes.iter().map(String::as_str));
        v.extend(self.sources.iter().map(String::as_str));
        v.push(&self.dest);
        v
    }
}

impl Add {
    pub(crate) fn expand(&self, x: &Expander, env: &(impl Env + ?Sized)) -> Result<Add> {
        Ok(Add {
            chown: expand_opt(self.chown.as_ref(), x, env)?,
            chmod: expand_opt(self.chmod.as_ref(), x, env)?,
            checksum: expand_opt(self.checksum.as_ref(), x, env)?,
            keep_git_dir: self.keep_git_dir,
            link: self.link,
            excludes: expand_list(&self.excludes, x, env)?,
            sources: expand_sources(&self.sources, &self.heredocs, x, env)?,
            dest: x.word(&self.dest, env)?,
            heredocs: self.heredocs.clone(),
        })
    }

    pub(crate) fn expandable_words(&self) -> Vec<&str> {
        let mut v: Vec<&str> = [&self.chown, &self.chmod, &self.checksum]
            .into_iter()
            .filter_map(|o| o.as_deref())
            .collect();
        v.extend(self.excludes.iter().map(String::as_str));
        v.extend(self.sources.iter().map(String::as_str));
        v.push(&self.dest);
        v
    }
}

/// Sources and destination: a JSON array or whitespace-separated words, at least two.
fn paths(ctx: &Ctx<'_>, rest: usize) -> Result<(Vec<String>, String)> {
    ctx.require_args(rest)?;
    let mut all: Vec<String> = match words::json_array(ctx.from(rest)) {
        Json::Array(v) => v,
        Json::NotStrings => return Err(ctx.not_strings(rest)),
        Json::Absent | Json::Invalid(_) => words::split_ws(ctx.from(rest), rest)
            .into_iter()
            .map(|(_, s)| s.to_string())
            .collect(),
    };
    if all.len() < 2 {
        return Err(ctx.syntax(
            ctx.skip_ws(rest),
            format!(
                "{} requires at least two arguments (sources and a destination), but only one was given",
                ctx.name
            ),
        ));
    }
    let dest = all.pop().unwrap_or_default();
    Ok((all, dest))
}

const COPY_FLAGS: [&str; 6] = ["from", "chown", "chmod", "link", "parents", "exclude"];
const ADD_FLAGS: [&str; 6] = [
    "chown",
    "chmod",
    "checksum",
    "keep-git-dir",
    "link",
    "exclude",
];

pub(crate) fn parse_copy(ctx: &Ctx<'_>) -> Result<Copy> {
    let (mut fl, rest) = flags::split(ctx);
    let from = fl.string(ctx, "from")?.map(|(v, _)| v);
    let chown = fl.string(ctx, "chown")?.map(|(v, _)| v);
    let chmod = fl.string(ctx, "chmod")?.map(|(v, _)| v);
    let link = fl.boolean(ctx, "link")?;
    let parents = fl.boolean(ctx, "parents")?;
    let excludes = fl
        .all(ctx, "exclude")?
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    fl.finish(ctx, &COPY_FLAGS)?;
    let (sources, dest) = paths(ctx, rest)?;
    Ok(Copy {
        from,
        chown,
        chmod,
        link,
        parents,
        excludes,
        sources,
        dest,
        heredocs: ctx.line.heredocs.clone(),
    })
}

pub(crate) fn parse_add(ctx: &Ctx<'_>) -> Result<Add> {
    let (mut fl, rest) = flags::split(ctx);
    let chown = fl.string(ctx, "chown")?.map(|(v, _)| v);
    let chmod = fl.string(ctx, "chmod")?.map(|(v, _)| v);
    let checksum = fl.string(ctx, "checksum")?.map(|(v, _)| v);
    let keep_git_dir = fl.boolean(ctx, "keep-git-dir")?;
    let link = fl.boolean(ctx, "link")?;
    let excludes = fl
        .all(ctx, "exclude")?
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    fl.finish(ctx, &ADD_FLAGS)?;
    let (sources, dest) = paths(ctx, rest)?;
    Ok(Add {
        chown,
        chmod,
        checksum,
        keep_git_dir,
        link,
        excludes,
        sources,
        dest,
        heredocs: ctx.line.heredocs.clone(),
    })
}
