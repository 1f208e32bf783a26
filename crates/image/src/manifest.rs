//! Image manifests, manifest lists / indexes and configs, Docker schema 2 and OCI alike,
//! and choosing a platform's manifest out of a list.
//!
//! Docker schema 2 documents have the same shape as OCI ones, so both parse into
//! `oci-spec`'s types; [`Kind`] remembers which media type the document really had.

use std::fmt;

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};

use crate::error::{Error, Result};

/// Docker schema 2 image manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker schema 2 manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Every manifest media type, for `Accept` headers.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

/// Layer media types berth can apply (compression is detected from the bytes anyway).
const LAYER_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

/// Which kind of manifest document a media type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Docker schema 2 image manifest.
    DockerManifest,
    /// Docker schema 2 manifest list.
    DockerList,
    /// OCI image manifest.
    OciManifest,
    /// OCI image index.
    OciIndex,
}

impl Kind {
    /// The kind for a manifest media type.
    ///
    /// # Errors
    /// [`Error::UnsupportedMediaType`] naming any other type (schema 1 included).
    pub fn from_media_type(media_type: &str) -> Result<Self> {
        // Registries may append parameters (`; charset=utf-8`).
        match media_type.split(';').next().unwrap_or("").trim() {
            DOCKER_MANIFEST => Ok(Self::DockerManifest),
            DOCKER_LIST => Ok(Self::DockerList),
            OCI_MANIFEST => Ok(Self::OciManifest),
            OCI_INDEX => Ok(Self::OciIndex),
            _ => Err(Error::UnsupportedMediaType {
                media_type: media_type.to_owned(),
            }),
        }
    }

    /// The media type string.
    #[must_use]
    pub fn media_type(self) -> &'static str {
        match self {
            Self::DockerManifest => DOCKER_MANIFEST,
            Self::DockerList => DOCKER_LIST,
            Self::OciManifest => OCI_MANIFEST,
            Self::OciIndex => OCI_INDEX,
        }
    }

    /// Whether documents of this kind list other manifests.
    #[must_use]
    pub fn is_index(self) -> bool {
        matches!(self, Self::DockerList | Self::OciIndex)
    }
}

/// A parsed manifest document.
#[derive(Debug, Clone)]
pub enum Manifest {
    /// One image: config and layers.
    Image(Box<ImageManifest>),
    /// A list of per-platform manifests.
    Index(Box<ImageIndex>),
}

/// Parses a manifest. `media_type` is the one the registry or file declared; when it is
/// missing or generic (`application/json`), the document's own `mediaType` field decides, and
/// without that its shape (`manifests` or `layers`).
///
/// # Errors
/// [`Error::UnsupportedMediaType`] for other media types, [`Error::Json`] for bad JSON.
pub fn parse(media_type: Option<&str>, bytes: &[u8]) -> Result<(Kind, Manifest)> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Peek {
        schema_version: Option<u32>,
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    let peek: Peek = serde_json::from_slice(bytes).map_err(|e| Error::json("manifest", e))?;
    let declared = media_type.filter(|m| {
        !m.is_empty() && !m.starts_with("application/json") && !m.starts_with("text/plain")
    });
    let kind = match (declared, peek.media_type.as_deref()) {
        (Some(m), _) | (None, Some(m)) => Kind::from_media_type(m)?,
        (None, None) if peek.schema_version == Some(1) => {
            return Err(Error::UnsupportedMediaType {
                media_type: "application/vnd.docker.distribution.manifest.v1+json".to_owned(),
            });
        }
        (None, None) if peek.manifests.is_some() => Kind::OciIndex,
        (None, None) => Kind::OciManifest,
    };
    let what = kind.media_type();
    let manifest = if kind.is_index() {
        Manifest::Index(Box::new(
            serde_json::from_slice(bytes).map_err(|e| Error::json(what, e))?,
        ))
    } else {
        let m: ImageManifest = serde_json::from_slice(bytes).map_err(|e| Error::json(what, e))?;
        for layer in m.layers() {
            check_layer_media_type(layer.media_type().as_ref())?;
        }
        Manifest::Image(Box::new(m))
    };
    Ok((kind, manifest))
}

/// Refuses layer media types berth cannot apply (e.g. encrypted layers).
///
/// # Errors
/// [`Error::UnsupportedMediaType`].
pub fn check_layer_media_type(media_type: &str) -> Result<()> {
    if LAYER_MEDIA_TYPES.contains(&media_type) {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType {
            media_type: media_type.to_owned(),
        })
    }
}

/// Parses an image config blob (Docker and OCI configs share this shape).
///
/// # Errors
/// [`Error::Json`].
pub fn parse_config(bytes: &[u8]) -> Result<ImageConfiguration> {
    serde_json::from_slice(bytes).map_err(|e| Error::json("image config", e))
}

/// An `os/arch[/variant]` platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// GOOS-style name (`linux`).
    pub os: String,
    /// GOARCH-style name (`amd64`, `arm64`, `arm`).
    pub architecture: String,
    /// CPU variant (`v7`, `v8`), if any.
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]` (Docker's `--platform`).
    ///
    /// # Errors
    /// [`Error::InvalidPlatform`].
    pub fn parse(text: &str) -> Result<Self> {
        let parts: Vec<&str> = text.split('/').collect();
        let bad = || Error::InvalidPlatform {
            platform: text.to_owned(),
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        match parts.as_slice() {
            [os, arch] => Ok(Self::new(os, arch, None)),
            [os, arch, variant] => Ok(Self::new(os, arch, Some(variant))),
            _ => Err(bad()),
        }
    }

    /// A platform with normalized names (`x86_64` → `amd64`, `aarch64` → `arm64`).
    #[must_use]
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        let architecture = match architecture.to_lowercase().as_str() {
            "x86_64" | "x86-64" => "amd64".to_owned(),
            "aarch64" => "arm64".to_owned(),
            "i386" | "i686" => "386".to_owned(),
            "armhf" => "arm".to_owned(),
            other => other.to_owned(),
        };
        Self {
            os: os.to_lowercase(),
            architecture,
            variant: variant.map(str::to_lowercase),
        }
    }

    /// The platform this berth binary runs on.
    #[must_use]
    pub fn host() -> Self {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            "x86" => ("386", None),
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
            other => (other, None),
        };
        Self::new(std::env::consts::OS, arch, variant)
    }

    /// The variant with arm64's implicit `v8` filled in.
    fn effective_variant(&self) -> Option<&str> {
        match (self.architecture.as_str(), self.variant.as_deref()) {
            ("arm64", None) => Some("v8"),
            (_, v) => v,
        }
    }

    /// How well `candidate` serves this (wanted) platform: `None` when it cannot run, lower
    /// is better. An arm v7 host also runs v6 and v5 images, preferring the newest.
    fn rank(&self, candidate: &Self) -> Option<u32> {
        if self.os != candidate.os || self.architecture != candidate.architecture {
            return None;
        }
        match (self.effective_variant(), candidate.effective_variant()) {
            (None, None) => Some(0),
            (None, Some(_)) => Some(1),
            (Some(w), Some(c)) if w == c => Some(0),
            (Some(_), None) => Some(5),
            (Some(w), Some(c)) if self.architecture == "arm" => {
                let num = |v: &str| v.strip_prefix('v').and_then(|n| n.parse::<u32>().ok());
                match (num(w), num(c)) {
                    (Some(w), Some(c)) if c < w => Some(w - c),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

fn descriptor_platform(d: &Descriptor) -> Option<Platform> {
    d.platform().as_ref().map(|p| {
        Platform::new(
            &p.os().to_string(),
            &p.architecture().to_string(),
            p.variant().as_deref(),
        )
    })
}

/// Picks the manifest for `wanted` out of an index or list: the best-ranked entry, the
/// first of equals (as Docker does).
///
/// # Errors
/// [`Error::NoMatchingPlatform`] listing every platform the index offers.
pub fn select_platform<'a>(index: &'a ImageIndex, wanted: &Platform) -> Result<&'a Descriptor> {
    index
        .manifests()
        .iter()
        .filter_map(|d| {
            descriptor_platform(d)
                .and_then(|p| wanted.rank(&p))
                .map(|r| (r, d))
        })
        .min_by_key(|(r, _)| *r)
        .map(|(_, d)| d)
        .ok_or_else(|| {
            let available: Vec<String> = index
                .manifests()
                .iter()
                .filter_map(descriptor_platform)
                // Attestation manifests carry `unknown/unknown`; not a choice for users.
                .filter(|p| p.os != "unknown")
                .map(|p| p.to_string())
                .collect();
            Error::NoMatchingPlatform {
                wanted: wanted.to_string(),
                available: if available.is_empty() {
                    "none".to_owned()
                } else {
                    available.join(", ")
                },
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(platforms: &[(&str, &str, Option<&str>)]) -> ImageIndex {
        let manifests: Vec<serde_json::Value> = platforms
            .iter()
            .enumerate()
            .map(|(i, (os, arch, variant))| {
                let mut p = serde_json::json!({"os": os, "architecture": arch});
                if let Some(v) = variant {
                    p["variant"] = serde_json::json!(v);
                }
                serde_json::json!({
                    "mediaType": OCI_MANIFEST,
                    "digest": format!("sha256:{:064x}", i),
                    "size": 100 + i,
                    "platform": p,
                })
            })
            .collect();
        let doc =
            serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        let (kind, m) = parse(None, doc.to_string().as_bytes()).unwrap();
        assert_eq!(kind, Kind::OciIndex);
        match m {
            Manifest::Index(i) => *i,
            Manifest::Image(_) => panic!("not an index"),
        }
    }

    fn chosen(idx: &ImageIndex, wanted: &str) -> Result<u64> {
        select_platform(idx, &Platform::parse(wanted)?).map(|d| d.size() - 100)
    }

    #[test]
    fn platform_selection() {
        let idx = index(&[
            ("linux", "amd64", None),
            ("linux", "arm", Some("v6")),
            ("linux", "arm", Some("v7")),
            ("linux", "arm64", Some("v8")),
            ("unknown", "unknown", None),
        ]);
        assert_eq!(chosen(&idx, "linux/amd64").unwrap(), 0);
        assert_eq!(chosen(&idx, "linux/arm/v7").unwrap(), 2);
        assert_eq!(chosen(&idx, "linux/arm/v6").unwrap(), 1);
        assert_eq!(chosen(&idx, "linux/arm64").unwrap(), 3);
        assert_eq!(chosen(&idx, "linux/aarch64").unwrap(), 3);
        assert_eq!(chosen(&idx, "linux/arm").unwrap(), 1);
        let only_v6 = index(&[("linux", "arm", Some("v6"))]);
        assert_eq!(chosen(&only_v6, "linux/arm/v7").unwrap(), 0);
        assert!(chosen(&only_v6, "linux/arm/v5").is_err());
        let arm64_bare = index(&[("linux", "arm64", None)]);
        assert_eq!(chosen(&arm64_bare, "linux/arm64/v8").unwrap(), 0);
    }

    #[test]
    fn no_platform_error_lists_available() {
        let idx = index(&[
            ("linux", "arm64", Some("v8")),
            ("linux", "s390x", None),
            ("unknown", "unknown", None),
        ]);
        let err = chosen(&idx, "linux/amd64").unwrap_err().to_string();
        assert!(err.contains("linux/amd64"), "{err}");
        assert!(
            err.contains("available: linux/arm64/v8, linux/s390x\n"),
            "{err}"
        );
        assert!(err.contains("hint: "), "{err}");
    }

    #[test]
    fn host_platform_matches_build() {
        let h = Platform::host();
        assert_eq!(h.os, "linux");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(h.to_string(), "linux/amd64");
        }
    }

    #[test]
    fn bad_platform_strings() {
        for p in ["linux", "linux/", "/amd64", "a/b/c/d", ""] {
            assert!(Platform::parse(p).is_err(), "{p}");
        }
    }

    #[test]
    fn media_types() {
        let doc = serde_json::json!({
            "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "digest": format!("sha256:{:064x}", 1), "size": 2},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": format!("sha256:{:064x}", 2), "size": 3}],
        });
        let bytes = doc.to_string();
        let (kind, m) = parse(Some(DOCKER_MANIFEST), bytes.as_bytes()).unwrap();
        assert_eq!(kind, Kind::DockerManifest);
        assert!(matches!(m, Manifest::Image(ref i) if i.layers().len() == 1));
        assert_eq!(
            parse(None, bytes.as_bytes()).unwrap().0,
            Kind::DockerManifest
        );
        assert_eq!(
            parse(Some("application/json"), bytes.as_bytes()).unwrap().0,
            Kind::DockerManifest
        );

        let err = parse(Some("application/vnd.example.thing+json"), bytes.as_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unsupported media type application/vnd.example.thing+json"
        );
        let err = parse(None, br#"{"schemaVersion":1,"name":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("manifest.v1"), "{err}");

        let enc = bytes.replace("rootfs.diff.tar.gzip", "rootfs.diff.tar.gzip+encrypted");
        let err = parse(None, enc.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("tar.gzip+encrypted"), "{err}");
        assert!(matches!(parse(None, b"{nope"), Err(Error::Json { .. })));
    }

    #[test]
    fn busybox_layout_documents_parse() {
        let dir = std::path::Path::new("/work/shared/images/busybox-1.38.0/musl");
        if !dir.exists() {
            eprintln!("skipping: {} missing", dir.display());
            return;
        }
        let idx = fs_err::read(dir.join("index.json")).unwrap();
        let (kind, Manifest::Index(idx)) = parse(None, &idx).unwrap() else {
            panic!("not an index")
        };
        assert_eq!(kind, Kind::OciIndex);
        let d = select_platform(&idx, &Platform::parse("linux/amd64").unwrap()).unwrap();
        let m = fs_err::read(dir.join("image-manifest.json")).unwrap();
        assert_eq!(
            crate::Digest::sha256_of(&m).to_string(),
            d.digest().to_string()
        );
        let (_, Manifest::Image(m)) = parse(Some(OCI_MANIFEST), &m).unwrap() else {
            panic!("not an image")
        };
        let cfg = parse_config(&fs_err::read(dir.join("image-config.json")).unwrap()).unwrap();
        assert_eq!(cfg.rootfs().diff_ids().len(), m.layers().len());
    }
}
