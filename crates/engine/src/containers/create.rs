//! `berth create`: a store row, the rootfs, volumes, the generated files and the OCI
//! spec (`config.json`). Bad input is refused before anything is made; a failure
//! after the row exists removes what was made.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::PathBuf;

use berth_store::{ContainerRecord, NewContainer, NewVolume};

use super::mounts::{self, MountRequest, Source};
use super::spec::{self, Device, ResolvedMount, SpecInput};
use super::user::{self, ResolvedUser};
use super::{ImageConfig, MountPoint, RestartPolicy, RunOptions, Stored, etc_files, volume_copy};
use crate::{Engine, Error, Result};

/// All mount requests of a container: `-v`, `--mount`, `--tmpfs`, then the image's
/// `VOLUME`s not covered by them (as anonymous volumes).
pub fn mount_requests(opts: &RunOptions, image: &ImageConfig) -> Result<Vec<MountRequest>> {
    let mut reqs = Vec::new();
    for v in &opts.volumes {
        reqs.push(mounts::parse_volume_flag(v)?);
    }
    for m in &opts.mounts {
        reqs.push(mounts::parse_mount_flag(m)?);
    }
    for t in &opts.tmpfs {
        reqs.push(mounts::parse_tmpfs_flag(t)?);
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in &reqs {
        if !seen.insert(r.target.trim_end_matches('/').to_owned()) {
            return Err(Error::Invalid {
                flag: "-v/--mount",
                value: r.target.clone(),
                hint: "two mounts have the same container path".into(),
            });
        }
    }
    for path in image.volumes.keys() {
        if !seen.contains(path.trim_end_matches('/')) {
            reqs.push(MountRequest {
                source: Source::Volume { name: None },
                target: path.clone(),
                readonly: false,
                propagation: None,
            });
        }
    }
    Ok(reqs)
}

/// Checks every flag that can be checked without the rootfs, so bad input changes nothing.
pub fn validate(opts: &RunOptions, image: &ImageConfig) -> Result<()> {
    if let Some(r) = &opts.restart {
        let p = RestartPolicy::parse(r)?;
        if opts.auto_remove && p != RestartPolicy::No {
            return Err(Error::Invalid {
                flag: "--restart",
                value: r.clone(),
                hint: "--rm and a restart policy exclude each other".into(),
            });
        }
    }
    if let Some(s) = &opts.stop_signal {
        berth_runtime::parse_signal(s).map_err(|_| Error::Invalid {
            flag: "--stop-signal",
            value: s.clone(),
            hint: "use a signal name or number, e.g. SIGTERM or 15".into(),
        })?;
    }
    match opts.log_driver.as_deref() {
        None | Some("json-file" | "none" | "") => {}
        Some(d) => {
            return Err(Error::Invalid {
                flag: "--log-driver",
                value: d.to_owned(),
                hint: "berth supports json-file and none".into(),
            });
        }
    }
    super::logs::LogOptions::parse(&opts.log_opts)?;
    super::health::validate(opts)?;
    opts.kernel
        .validate(opts.network.as_deref(), opts.nano_cpus)?;
    if opts.kernel.uts.as_deref() == Some("host") && opts.hostname.is_some() {
        return Err(Error::Invalid {
            flag: "--hostname",
            value: opts.hostname.clone().unwrap_or_default(),
            hint: "with --uts host the container has the host's name; drop one of them".into(),
        });
    }
    mount_requests(opts, image)?;
    for d in &opts.devices {
        parse_device(d)?;
    }
    let dry = SpecInput {
        id: &"0".repeat(64),
        opts,
        image,
        rootfs: "/".into(),
        user: ResolvedUser::default(),
        mounts: Vec::new(),
        etc_files: Vec::new(),
        devices: Vec::new(),
        init_dir: None,
        host_caps: super::security::all_caps(),
    };
    spec::build(&dry).map(|_| ())
}

/// `--device HOST[:CONTAINER[:PERMS]]` split up.
fn parse_device(d: &str) -> Result<(String, String, String)> {
    let parts: Vec<&str> = d.split(':').collect();
    let (host, inside, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, c] if c.starts_with('/') => (*h, *c, "rwm"),
        [h, p] => (*h, *h, *p),
        [h, c, p] => (*h, *c, *p),
        _ => ("", "", ""),
    };
    if !host.starts_with('/')
        || !inside.starts_with('/')
        || perms.is_empty()
        || !perms.chars().all(|c| "rwm".contains(c))
    {
        return Err(Error::Invalid {
            flag: "--device",
            value: d.to_owned(),
            hint: "use /dev/HOST[:/dev/CONTAINER[:rwm]]".into(),
        });
    }
    Ok((host.to_owned(), inside.to_owned(), perms.to_owned()))
}

fn resolve_device(d: &str) -> Result<Device> {
    let (host, inside, perms) = parse_device(d)?;
    let meta = fs_err::metadata(&host).map_err(|e| Error::Io {
        path: host.clone().into(),
        source: e,
    })?;
    let ft = meta.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        return Err(Error::Invalid {
            flag: "--device",
            value: d.to_owned(),
            hint: format!("{host} is not a device node"),
        });
    };
    let (major, minor) = super::blkio::numbers(&meta);
    Ok(Device {
        path: inside,
        kind,
        major: i64::from(major),
        minor: i64::from(minor),
        access: perms,
        mode: meta.mode() & 0o777,
    })
}

impl Engine {
    /// Finds an image by id, id prefix or reference (`alpine` → `docker.io/library/alpine:latest`).
    pub fn find_image(&self, name: &str) -> Result<berth_store::ImageRecord> {
        match self.store().get_image(name) {
            Ok(i) => return Ok(i),
            Err(berth_store::Error::ImageNotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if let Ok(r) = berth_image::Reference::parse(name)
            && let Ok(i) = self.store().get_image(&r.to_string())
        {
            return Ok(i);
        }
        Err(Error::ImageMissing {
            reference: name.to_owned(),
        })
    }

    /// Creates a container from `image` with `opts`; nothing runs yet.
    pub fn create_container(&self, image: &str, opts: &RunOptions) -> Result<ContainerRecord> {
        let img = self.find_image(image)?;
        let image_cfg = ImageConfig::from_image_json(img.config.as_deref().unwrap_or("{}"))?;
        validate(opts, &image_cfg)?;
        opts.host.validate(self.store().root())?;
        self.check_links(opts)?;
        let opts = &*self.with_volumes_from(opts)?;
        let endpoints = self.plan_networks(opts, &image_cfg)?;
        let requests = mount_requests(opts, &image_cfg)?;
        let id = berth_store::digest::random_id()?;
        // Volumes first: the row refers to them. Anonymous ones are removed again if
        // anything later fails.
        let mut made_anonymous: Vec<String> = Vec::new();
        let mut vol_names: Vec<Option<String>> = Vec::new();
        let result = (|| -> Result<ContainerRecord> {
            for r in &requests {
                vol_names.push(match &r.source {
                    Source::Volume { name: Some(n) } => {
                        self.store().create_volume(&NewVolume {
                            name: Some(n.clone()),
                            driver: "local".into(),
                            ..NewVolume::default()
                        })?;
                        Some(n.clone())
                    }
                    Source::Volume { name: None } => {
                        let v = self.store().create_volume(&NewVolume {
                            name: None,
                            driver: "local".into(),
                            anonymous: true,
                            ..NewVolume::default()
                        })?;
                        made_anonymous.push(v.name.clone());
                        Some(v.name)
                    }
                    _ => None,
                });
            }
            let labels: BTreeMap<String, String> = image_cfg
                .labels
                .clone()
                .into_iter()
                .chain(opts.labels.iter().map(|l| {
                    let (k, v) = l.split_once('=').unwrap_or((l, ""));
                    (k.to_owned(), v.to_owned())
                }))
                .collect();
            let mut attempt = 0u64;
            loop {
                let name = match &opts.name {
                    Some(n) => n.clone(),
                    None => super::names::random_name(seed(&id) + attempt),
                };
                let new = NewContainer {
                    id: id.clone(),
                    name,
                    image_id: Some(img.id.clone()),
                    image_ref: image.to_owned(),
                    created: None,
                    config: "{}".into(),
                    labels: labels.clone(),
                    volumes: vol_names.iter().flatten().cloned().collect(),
                    layers: None,
                };
                // Unsynced: the config update below is a synced commit (see `prepare`'s
                // caller), and a failure removes the row with a synced commit.
                match self.store().create_container_unsynced(&new) {
                    Ok(rec) => return Ok(rec),
                    Err(berth_store::Error::ContainerNameInUse { .. })
                        if opts.name.is_none() && attempt < 20 =>
                    {
                        attempt += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        })();
        let rec = match result {
            Ok(r) => r,
            Err(e) => {
                for v in made_anonymous {
                    let _ = self.store().remove_volume(&v);
                }
                return Err(e);
            }
        };
        match self.prepare(&rec, opts, &image_cfg, &requests, &vol_names) {
            Ok(stored) => {
                let json = serde_json::to_string(&stored).map_err(|e| Error::Json {
                    what: "container config".into(),
                    source: e,
                })?;
                self.store().update_container_config(&rec.id, &json)?;
                self.record_networks(&rec.id, &endpoints)?;
                let mut rec = rec;
                rec.config = Some(json);
                self.record_event(&rec.id, "create");
                Ok(rec)
            }
            Err(e) => {
                let _ = self.store().remove_container(&rec.id);
                for v in made_anonymous {
                    let _ = self.store().remove_volume(&v);
                }
                Err(e)
            }
        }
    }

    /// Mounts the rootfs, fills volumes, resolves the user and writes `config.json`.
    fn prepare(
        &self,
        rec: &ContainerRecord,
        opts: &RunOptions,
        image: &ImageConfig,
        requests: &[MountRequest],
        vol_names: &[Option<String>],
    ) -> Result<Stored> {
        let layers = self.store().container_layers(&rec.id)?;
        // `--rm`: nothing of it outlives the run, so its overlay need not sync.
        let rootfs = if opts.auto_remove {
            self.store().mount_rootfs_volatile(&rec.id, &layers)?
        } else {
            self.store().mount_rootfs(&rec.id, &layers)?
        };
        let dir = self.store().container_dir(&rec.id)?;
        let mut resolved = Vec::new();
        let mut points = Vec::new();
        for (r, vol) in requests.iter().zip(vol_names) {
            let (source, kind, options) = match (&r.source, vol) {
                (Source::Bind { path, create }, _) => {
                    let p = PathBuf::from(path);
                    if !p.exists() {
                        if *create {
                            fs_err::create_dir_all(&p).map_err(|e| Error::Io {
                                path: p.clone(),
                                source: e,
                            })?;
                        } else {
                            return Err(Error::Invalid {
                                flag: "--mount",
                                value: path.clone(),
                                hint: "the bind source does not exist on the host; create it first (-v creates it)".into(),
                            });
                        }
                    }
                    (Some(p), "bind", Vec::new())
                }
                (Source::Volume { .. }, Some(name)) => {
                    let v = self.store().get_volume(name)?;
                    volume_copy::copy_up(&rootfs, &r.target, &v.mountpoint)?;
                    (Some(v.mountpoint), "volume", Vec::new())
                }
                (Source::Tmpfs { options }, _) => (None, "tmpfs", options.clone()),
                (Source::Volume { .. }, None) => continue,
            };
            let mut options = options;
            if let Some(p) = &r.propagation {
                options.push(p.clone());
            }
            points.push(MountPoint {
                kind: kind.to_owned(),
                name: vol.clone().unwrap_or_default(),
                source: source
                    .as_ref()
                    .map(|s| s.display().to_string())
                    .unwrap_or_default(),
                destination: r.target.clone(),
                mode: if r.readonly {
                    "ro".into()
                } else {
                    String::new()
                },
                rw: !r.readonly,
                propagation: r.propagation.clone().unwrap_or_else(|| {
                    if kind == "bind" {
                        "rprivate".into()
                    } else {
                        String::new()
                    }
                }),
                tmpfs_options: if kind == "tmpfs" {
                    options.clone()
                } else {
                    Vec::new()
                },
            });
            resolved.push(ResolvedMount {
                target: r.target.clone(),
                source,
                options,
                readonly: r.readonly,
            });
        }
        let user_spec = opts.user.clone().unwrap_or_else(|| image.user.clone());
        let passwd = user::read_in_root(&rootfs, "/etc/passwd")?;
        let group = user::read_in_root(&rootfs, "/etc/group")?;
        let user = user::resolve(&user_spec, &passwd, &group, &opts.group_add)?;
        let mut devices = Vec::new();
        for d in &opts.devices {
            devices.push(resolve_device(d)?);
        }
        let hostname = spec::hostname(opts, &rec.id);
        let host_net = opts.network.as_deref() == Some("host");
        let etc = etc_files::write_all(&dir, &hostname, host_net)?;
        let init_dir = if opts.init {
            Some(super::init::prepare(&self.paths().data)?)
        } else {
            None
        };
        let input = SpecInput {
            id: &rec.id,
            opts,
            image,
            rootfs: rootfs.clone(),
            user,
            mounts: resolved,
            etc_files: etc,
            devices,
            init_dir,
            host_caps: super::security::host_caps(),
        };
        let oci = spec::build(&input)?;
        super::bundle::write_spec(&dir, &oci)?;
        let argv = spec::command_line(opts, image)?;
        Ok(Stored {
            opts: opts.clone(),
            image: image.clone(),
            path: argv.first().cloned().unwrap_or_default(),
            args: argv.get(1..).map(<[String]>::to_vec).unwrap_or_default(),
            mounts: points,
            hostname,
        })
    }
}

fn seed(id: &str) -> u64 {
    u64::from_str_radix(&id[..16.min(id.len())], 16).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_volumes_become_anonymous_unless_covered() {
        let mut img = ImageConfig::default();
        img.volumes.insert("/data".into(), serde_json::json!({}));
        img.volumes.insert("/logs".into(), serde_json::json!({}));
        let opts = RunOptions {
            volumes: vec!["named:/data".into()],
            ..RunOptions::default()
        };
        let r = mount_requests(&opts, &img).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].target, "/logs");
        assert_eq!(r[1].source, Source::Volume { name: None });
        let dup = RunOptions {
            volumes: vec!["a:/x".into(), "b:/x/".into()],
            ..RunOptions::default()
        };
        assert!(mount_requests(&dup, &img).is_err());
    }

    #[test]
    fn devices_parse() {
        assert_eq!(parse_device("/dev/fuse").unwrap().1, "/dev/fuse");
        assert_eq!(
            parse_device("/dev/a:/dev/b:r").unwrap(),
            ("/dev/a".into(), "/dev/b".into(), "r".into())
        );
        assert!(parse_device("fuse").is_err());
        assert!(parse_device("/dev/a:/dev/b:x").is_err());
    }
}
