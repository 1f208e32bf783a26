//! `RUN [--mount=…]… [--network=…] [--security=…] <command>` and its mounts.

use crate::error::{Error, Result};
use crate::expand::{Env, Expander};
use crate::flags::{self, parse_bool};
use crate::heredoc::Heredoc;
use crate::instructions::Ctx;
use crate::instructions::command::{CommandForm, parse_form};

/// A `RUN` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// `--mount` options, in order.
    pub mounts: Vec<Mount>,
    /// `--network`.
    pub network: Option<Network>,
    /// `--security`.
    pub security: Option<Security>,
    /// The command (never expanded by the builder: the shell does that).
    pub command: CommandForm,
    /// Here-documents the command refers to (`RUN <<EOF`, `RUN python3 <<EOF`).
    pub heredocs: Vec<Heredoc>,
}

impl Run {
    pub(crate) fn expand(&self, x: &Expander, env: &(impl Env + ?Sized)) -> Result<Run> {
        let mut out = self.clone();
        for m in &mut out.mounts {
            for v in [&mut m.target, &mut m.source, &mut m.from, &mut m.id]
                .into_iter()
                .flatten()
            {
                *v = x.word(v, env)?;
            }
        }
        Ok(out)
    }

    pub(crate) fn expandable_words(&self) -> Vec<&str> {
        self.mounts
            .iter()
            .flat_map(|m| [&m.target, &m.source, &m.from, &m.id])
            .filter_map(|f| f.as_deref())
            .collect()
    }
}

/// `--mount=type=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    /// A read-only (by default) bind of the context or another stage/image.
    Bind,
    /// A persistent cache directory shared between builds.
    Cache,
    /// A fresh tmpfs.
    Tmpfs,
    /// A secret file (`--secret id=…` on the command line).
    Secret,
    /// An SSH agent socket.
    Ssh,
}

/// `sharing=` of a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Concurrent builds use the same directory.
    Shared,
    /// Each concurrent user gets its own directory.
    Private,
    /// Users wait for each other.
    Locked,
}

/// One `RUN --mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `type=` (default `bind`).
    pub kind: MountType,
    /// `target=`, `dst=` or `destination=`.
    pub target: Option<String>,
    /// `source=` or `src=`.
    pub source: Option<String>,
    /// `from=`: a stage or image to mount from.
    pub from: Option<String>,
    /// `id=`: cache or secret id.
    pub id: Option<String>,
    /// `sharing=` (cache mounts; default shared).
    pub sharing: Sharing,
    /// `mode=` (octal).
    pub mode: Option<u32>,
    /// `uid=`.
    pub uid: Option<u32>,
    /// `gid=`.
    pub gid: Option<u32>,
    /// `required` (secret and ssh mounts fail when the item is missing).
    pub required: bool,
    /// `readonly`/`ro` (default true for bind mounts), cleared by `rw`/`readwrite`.
    pub readonly: bool,
    /// `size=` for tmpfs, in bytes.
    pub size: Option<u64>,
    /// `env=` for secrets exposed as an environment variable.
    pub env: Option<String>,
}

impl Mount {
    /// The mount's id with Docker's defaults: a cache's id is its target, a secret's
    /// the last component of its target, an SSH mount's `default`.
    #[must_use]
    pub fn id_or_default(&self) -> Option<String> {
        if let Some(id) = &self.id {
            return Some(id.clone());
        }
        match self.kind {
            MountType::Cache => self.target.clone(),
            MountType::Secret => self
                .target
                .as_deref()
                .and_then(|t| t.trim_end_matches('/').rsplit('/').next())
                .filter(|b| !b.is_empty())
                .map(str::to_string),
            MountType::Ssh => Some("default".to_string()),
            MountType::Bind | MountType::Tmpfs => None,
        }
    }

    /// The target with Docker's defaults: `/run/secrets/<id>` for secrets and
    /// `/run/buildkit/ssh_agent.<n>` for the n-th SSH mount of the instruction.
    #[must_use]
    pub fn target_or_default(&self, ssh_index: usize) -> Option<String> {
        if let Some(t) = &self.target {
            return Some(t.clone());
        }
        match self.kind {
            MountType::Secret => self.id_or_default().map(|id| format!("/run/secrets/{id}")),
            MountType::Ssh => Some(format!("/run/buildkit/ssh_agent.{ssh_index}")),
            _ => None,
        }
    }
}

/// `--network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// The build's default network.
    Default,
    /// No network.
    None,
    /// The host's network.
    Host,
}

/// `--security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Full privileges (needs `--allow security.insecure`).
    Insecure,
    /// The normal sandbox.
    Sandbox,
}

const FLAGS: [&str; 3] = ["mount", "network", "security"];

pub(crate) fn parse(ctx: &Ctx<'_>) -> Result<Run> {
    let (mut fl, rest) = flags::split(ctx);
    let mounts = fl
        .all(ctx, "mount")?
        .into_iter()
        .map(|(v, at)| parse_mount(ctx, &v, at))
        .collect::<Result<Vec<_>>>()?;
    let network = match fl.string(ctx, "network")? {
        None => None,
        Some((v, at)) => Some(match v.as_str() {
            "default" => Network::Default,
            "none" => Network::None,
            "host" => Network::Host,
            _ => return Err(bad(ctx, at, "network", &v, "default, none or host")),
        }),
    };
    let security = match fl.string(ctx, "security")? {
        None => None,
        Some((v, at)) => Some(match v.as_str() {
            "insecure" => Security::Insecure,
            "sandbox" => Security::Sandbox,
            _ => return Err(bad(ctx, at, "security", &v, "insecure or sandbox")),
        }),
    };
    fl.finish(ctx, &FLAGS)?;
    let command = parse_form(ctx, rest)?;
    Ok(Run {
        mounts,
        network,
        security,
        command,
        heredocs: ctx.line.heredocs.clone(),
    })
}

fn bad(ctx: &Ctx<'_>, at: usize, flag: &str, value: &str, expected: &str) -> Error {
    Error::BadFlag {
        at: ctx.at(at),
        flag: flag.to_string(),
        value: value.to_string(),
        expected: expected.to_string(),
    }
}

const MOUNT_KEYS: &str = "type, target (dst, destination), source (src), from, id, sharing, mode, uid, gid, required, readonly (ro), rw (readwrite), size, env";

fn parse_mount(ctx: &Ctx<'_>, spec: &str, at: usize) -> Result<Mount> {
    let fields = csv_fields(spec);
    let kind = fields.iter().find_map(|f| f.strip_prefix("type=")).map_or(
        Ok(MountType::Bind),
        |t| match t {
            "bind" => Ok(MountType::Bind),
            "cache" => Ok(MountType::Cache),
            "tmpfs" => Ok(MountType::Tmpfs),
            "secret" => Ok(MountType::Secret),
            "ssh" => Ok(MountType::Ssh),
            _ => Err(bad(
                ctx,
                at,
                "mount",
                spec,
                "type=bind, type=cache, type=tmpfs, type=secret or type=ssh",
            )),
        },
    )?;
    let mut m = Mount {
        kind,
        target: None,
        source: None,
        from: None,
        id: None,
        sharing: Sharing::Shared,
        mode: None,
        uid: None,
        gid: None,
        required: false,
        readonly: kind == MountType::Bind,
        size: None,
        env: None,
    };
    for field in &fields {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        let need = |v: Option<&str>| -> Result<String> {
            v.map(str::to_string)
                .ok_or_else(|| bad(ctx, at, "mount", spec, &format!("a value for {key}")))
        };
        let number = |v: Option<&str>, radix: u32| -> Result<u32> {
            v.and_then(|v| u32::from_str_radix(v, radix).ok())
                .ok_or_else(|| bad(ctx, at, "mount", spec, &format!("a number for {key}")))
        };
        let boolean = |v: Option<&str>| -> Result<bool> {
            v.map_or(Some(true), parse_bool)
                .ok_or_else(|| bad(ctx, at, "mount", spec, &format!("true or false for {key}")))
        };
        match key.as_str() {
            "type" => {}
            "target" | "dst" | "destination" => m.target = Some(need(value)?),
            "source" | "src" => m.source = Some(need(value)?),
            "from" => m.from = Some(need(value)?),
            "id" => m.id = Some(need(value)?),
            "env" => m.env = Some(need(value)?),
            "sharing" => {
                m.sharing = match value {
                    Some("shared") => Sharing::Shared,
                    Some("private") => Sharing::Private,
                    Some("locked") => Sharing::Locked,
                    _ => {
                        return Err(bad(
                            ctx,
                            at,
                            "mount",
                            spec,
                            "sharing=shared, private or locked",
                        ));
                    }
                }
            }
            "mode" => m.mode = Some(number(value, 8)?),
            "uid" => m.uid = Some(number(value, 10)?),
            "gid" => m.gid = Some(number(value, 10)?),
            "required" => m.required = boolean(value)?,
            "readonly" | "ro" => m.readonly = boolean(value)?,
            "rw" | "readwrite" => m.readonly = !boolean(value)?,
            "size" => {
                m.size = Some(value.and_then(parse_size).ok_or_else(|| {
                    bad(ctx, at, "mount", spec, "a size for size=, like 64m or 1g")
                })?);
            }
            _ => {
                return Err(bad(
                    ctx,
                    at,
                    "mount",
                    spec,
                    &format!("one of the keys {MOUNT_KEYS}, not \"{key}\""),
                ));
            }
        }
    }
    if m.target.is_none()
        && matches!(
            m.kind,
            MountType::Bind | MountType::Cache | MountType::Tmpfs
        )
    {
        return Err(bad(
            ctx,
            at,
            "mount",
            spec,
            "a target=<path> for this mount type",
        ));
    }
    if m.kind == MountType::Secret && m.id.is_none() && m.target.is_none() {
        return Err(bad(
            ctx,
            at,
            "mount",
            spec,
            "an id=<secret> or a target=<path> for a secret",
        ));
    }
    Ok(m)
}

/// Splits comma-separated fields; double quotes protect commas, as Go's csv reader does.
fn csv_fields(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in spec.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().filter(|f| !f.is_empty()).collect()
}

/// `64m`, `1g`, `512k`, `100` (bytes); binary multiples as Docker's `RAMInBytes`.
fn parse_size(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(lower.len());
    let number: f64 = lower[..digits_end].parse().ok()?;
    let unit = lower[digits_end..]
        .trim_end_matches("ib")
        .trim_end_matches('b');
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * mult;
    // Sizes are far below 2^53, where f64 stops being exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (bytes.is_finite() && bytes >= 0.0).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64m"), Some(64 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("512kb"), Some(512 << 10));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(
            csv_fields(r#"type=bind,"source=a,b",ro"#),
            vec!["type=bind", "source=a,b", "ro"]
        );
    }
}
