//! `-u user[:group]` → uid, gid and supplementary groups, by reading the container's own
//! `/etc/passwd` and `/etc/group` (never the host's).

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// A resolved user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedUser {
    /// uid.
    pub uid: u32,
    /// gid.
    pub gid: u32,
    /// Groups the user is listed in (`/etc/group`) plus `--group-add`.
    pub additional_gids: Vec<u32>,
    /// Home directory (for `HOME`).
    pub home: String,
}

/// Reads a file of the container's rootfs with every path component resolved inside
/// `root` (openat2 `RESOLVE_IN_ROOT`): a symlinked `/etc/passwd` in an image cannot make
/// berth read a host file. Missing files read as empty.
pub fn read_in_root(root: &Path, path: &str) -> Result<String> {
    use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
    let io = |e: std::io::Error| Error::Io {
        path: root.join(path.trim_start_matches('/')),
        source: e,
    };
    let dir = fs_err::File::open(root).map_err(io)?;
    let fd = match openat2(
        &dir,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(String::new()),
        Err(e) => return Err(io(e.into())),
    };
    let mut s = String::new();
    std::fs::File::from(fd)
        .take(4 << 20)
        .read_to_string(&mut s)
        .map_err(io)?;
    Ok(s)
}

/// Resolves `spec` (`name`, `uid`, `name:group`, `uid:gid`; empty means root) against
/// the passwd and group texts; `group_add` are names or numbers.
pub fn resolve(
    spec: &str,
    passwd: &str,
    group: &str,
    group_add: &[String],
) -> Result<ResolvedUser> {
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let entries: Vec<Vec<&str>> = passwd
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 6)
        .collect();
    let by_name = entries.iter().find(|f| f[0] == user);
    let by_uid = user
        .parse::<u32>()
        .ok()
        .map(|u| (u, entries.iter().find(|f| f[2].parse() == Ok(u))));
    let (uid, mut gid, name, home) = match (by_name, by_uid) {
        (Some(f), _) => (
            f[2].parse().unwrap_or(0),
            f[3].parse().unwrap_or(0),
            f[0].to_owned(),
            f[5].to_owned(),
        ),
        (None, Some((u, Some(f)))) => (
            u,
            f[3].parse().unwrap_or(0),
            f[0].to_owned(),
            f[5].to_owned(),
        ),
        (None, Some((u, None))) => (u, 0, String::new(), "/".to_owned()),
        (None, None) => {
            return Err(Error::Invalid {
                flag: "--user",
                value: spec.to_owned(),
                hint: format!("no user {user:?} in the container's /etc/passwd; use a uid"),
            });
        }
    };
    let groups: Vec<Vec<&str>> = group
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 3)
        .collect();
    let lookup_group = |g: &str| -> Result<u32> {
        if let Some(f) = groups.iter().find(|f| f[0] == g) {
            return Ok(f[2].parse().unwrap_or(0));
        }
        g.parse().map_err(|_| Error::Invalid {
            flag: "--user/--group-add",
            value: g.to_owned(),
            hint: format!("no group {g:?} in the container's /etc/group; use a gid"),
        })
    };
    if let Some(g) = grp {
        gid = lookup_group(g)?;
    }
    let mut additional: Vec<u32> = Vec::new();
    // Supplementary groups from /etc/group apply only when no group was forced, as Docker.
    if grp.is_none() && !name.is_empty() {
        for f in &groups {
            if f.get(3)
                .is_some_and(|members| members.split(',').any(|m| m == name))
                && let Ok(g) = f[2].parse::<u32>()
                && g != gid
            {
                additional.push(g);
            }
        }
    }
    for g in group_add {
        additional.push(lookup_group(g)?);
    }
    additional.sort_unstable();
    additional.dedup();
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids: additional,
        home,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\nweb:x:1000:1000::/home/web:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:root,web\nweb:x:1000:\naudio:x:29:web\n";

    #[test]
    fn names_numbers_and_groups() {
        let u = resolve("web", PASSWD, GROUP, &[]).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
        assert_eq!(u.additional_gids, vec![10, 29]);
        assert_eq!(u.home, "/home/web");
        let u = resolve("web:audio", PASSWD, GROUP, &[]).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 29));
        assert!(u.additional_gids.is_empty());
        let u = resolve("4242:4343", PASSWD, GROUP, &["wheel".into()]).unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (4242, 4343, vec![10])
        );
        let u = resolve("", PASSWD, GROUP, &[]).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert!(resolve("ghost", PASSWD, GROUP, &[]).is_err());
        assert!(resolve("web:ghosts", PASSWD, GROUP, &[]).is_err());
    }

    #[test]
    fn symlinked_passwd_stays_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        fs_err::create_dir(d.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.path().join("etc/passwd")).unwrap();
        // /etc/hostname inside the root does not exist: reads as empty, not the host's.
        assert_eq!(read_in_root(d.path(), "/etc/passwd").unwrap(), "");
    }
}
