//! Engine-wide reports: `system df`'s disk usage and `info`'s counts.

use std::collections::HashMap;

use berth_store::{ContainerFilter, ContainerStatus, ImageFilter, VolumeFilter};

use crate::{Engine, Result};

/// One image's share of the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUsage {
    /// Image id (`sha256:…`).
    pub id: String,
    /// Its tags (full references).
    pub tags: Vec<String>,
    /// Creation time, ns since the epoch.
    pub created: i64,
    /// All its layers' unpacked bytes.
    pub size: u64,
    /// Bytes in layers other images use too.
    pub shared_size: u64,
    /// Containers made from it.
    pub containers: usize,
}

/// One container's writable layer.
#[derive(Debug, Clone)]
pub struct ContainerUsage {
    /// The record.
    pub record: berth_store::ContainerRecord,
    /// Bytes written to its writable layer.
    pub size_rw: u64,
    /// Volumes it mounts.
    pub volumes: usize,
}

/// One volume's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeUsage {
    /// Volume name.
    pub name: String,
    /// Containers that mount it.
    pub links: usize,
    /// Bytes under its mount point.
    pub size: u64,
}

/// What `system df` reports.
#[derive(Debug, Clone, Default)]
pub struct DiskUsage {
    /// Every image.
    pub images: Vec<ImageUsage>,
    /// Bytes of all distinct layers (shared ones once).
    pub layers_size: u64,
    /// Every container.
    pub containers: Vec<ContainerUsage>,
    /// Every volume.
    pub volumes: Vec<VolumeUsage>,
}

impl DiskUsage {
    /// Docker's reclaimable image bytes: everything but the unique bytes of images
    /// that containers use.
    pub fn images_reclaimable(&self) -> u64 {
        let used: u64 = self
            .images
            .iter()
            .filter(|i| i.containers > 0)
            .map(|i| i.size.saturating_sub(i.shared_size))
            .sum();
        self.layers_size.saturating_sub(used)
    }
}

impl Engine {
    /// Disk usage of images, containers and volumes, as `system df` shows it.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let store = self.store();
        let images = store.list_images(&ImageFilter::default())?;
        let containers = store.list_containers(&ContainerFilter {
            include_config: true,
            ..ContainerFilter::default()
        })?;
        let mut users: HashMap<&str, usize> = HashMap::new();
        for c in &containers {
            if let Some(i) = &c.image_id {
                *users.entry(i.as_str()).or_default() += 1;
            }
        }
        // How many images stack each snapshot, and its size.
        let mut chains: HashMap<String, (usize, u64)> = HashMap::new();
        let mut layers_of = Vec::with_capacity(images.len());
        for img in &images {
            let layers = store.image_layers(&img.id)?;
            for l in &layers {
                chains.entry(l.chain_id.clone()).or_insert((0, l.size)).0 += 1;
            }
            layers_of.push(layers);
        }
        let mut out = DiskUsage {
            layers_size: chains.values().map(|(_, size)| size).sum(),
            ..DiskUsage::default()
        };
        for (img, layers) in images.iter().zip(layers_of) {
            let shared = layers
                .iter()
                .filter(|l| chains.get(&l.chain_id).is_some_and(|(n, _)| *n > 1))
                .map(|l| l.size)
                .sum();
            out.images.push(ImageUsage {
                id: img.id.clone(),
                tags: img.tags.clone(),
                created: img.created,
                size: layers.iter().map(|l| l.size).sum(),
                shared_size: shared,
                containers: users.get(img.id.as_str()).copied().unwrap_or(0),
            });
        }
        for c in containers {
            let size_rw = store
                .container_dir(&c.id)
                .map_or(0, |d| berth_store::tree_size(&d.join("upper")));
            let volumes = store.container_volumes(&c.id)?.len();
            out.containers.push(ContainerUsage {
                record: c,
                size_rw,
                volumes,
            });
        }
        for v in store.list_volumes(&VolumeFilter::default())? {
            out.volumes.push(VolumeUsage {
                links: store.volume_users(&v.name)?.len(),
                size: berth_store::tree_size(&v.mountpoint),
                name: v.name,
            });
        }
        Ok(out)
    }

    /// Containers by state, for `info`: (all, running, paused, stopped).
    pub fn container_counts(&self) -> Result<(usize, usize, usize, usize)> {
        self.reconcile_running()?;
        let all = self.store().list_containers(&ContainerFilter::default())?;
        let count = |s: ContainerStatus| all.iter().filter(|c| c.state.status == s).count();
        let running = count(ContainerStatus::Running) + count(ContainerStatus::Restarting);
        let paused = count(ContainerStatus::Paused);
        Ok((all.len(), running, paused, all.len() - running - paused))
    }
}

/// The host's memory in bytes (`MemTotal`), 0 when unreadable.
pub fn host_memory() -> u64 {
    fs_err::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(size: u64, shared: u64, containers: usize) -> ImageUsage {
        ImageUsage {
            id: String::new(),
            tags: vec![],
            created: 0,
            size,
            shared_size: shared,
            containers,
        }
    }

    #[test]
    fn reclaimable_keeps_unique_bytes_of_used_images() {
        let du = DiskUsage {
            images: vec![image(100, 40, 1), image(70, 40, 0)],
            layers_size: 130,
            ..DiskUsage::default()
        };
        // The used image's 60 unique bytes stay; the shared 40 count as reclaimable,
        // as in Docker's CLI.
        assert_eq!(du.images_reclaimable(), 70);
    }
}
