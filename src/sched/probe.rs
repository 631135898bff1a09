//! Probing: the devices the scheduler may use, with what each reports about itself.
//!
//! The backends themselves come from the caller (the CLI's `available_backends()`, or a
//! test's wrappers), so the library does not decide which backends exist; probing reads
//! each one's [`DeviceInfo`] once and drops duplicates by backend name.

use super::profile::DeviceKey;
use crate::backend::{Backend, DeviceInfo};
use std::sync::Arc;

/// A device the scheduler knows.
#[derive(Clone)]
pub struct Device {
    /// The backend driving it.
    pub backend: Arc<dyn Backend>,
    /// What it reported when probed.
    pub info: DeviceInfo,
    /// Its profile key.
    pub key: DeviceKey,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device").field("info", &self.info).finish()
    }
}

impl Device {
    /// The backend's name (`DeviceInfo::backend`).
    pub fn name(&self) -> &str {
        &self.info.backend
    }
}

/// Reads every backend's description; the first backend of a name wins.
pub fn probe(backends: Vec<Arc<dyn Backend>>) -> Vec<Device> {
    let mut devices: Vec<Device> = Vec::new();
    for backend in backends {
        let info = backend.info();
        if devices.iter().any(|d| d.info.backend == info.backend) {
            log::warn!("backend {} listed twice; using the first", info.backend);
            continue;
        }
        log::info!(
            "device {}: {} ({:?}, {}, driver {}, memory {:?}, features {:?})",
            info.backend,
            info.device,
            info.kind,
            info.api,
            info.driver,
            info.memory_bytes,
            info.features
        );
        devices.push(Device {
            key: DeviceKey::of(&info),
            backend,
            info,
        });
    }
    devices
}
