//! The profile: what measuring taught us about each device, persisted as JSON in the cache
//! dir so the second start measures nothing.
//!
//! The file is versioned ([`FORMAT_VERSION`]) and stamped with the edgeplane version: new
//! kernels make old timings wrong, so a profile from another version is stale and ignored.
//! Devices are keyed by backend name, device name, driver and reported features (a CPU
//! backend with 8 threads is a different device from the same one with 2). A missing,
//! stale or corrupt file means re-measuring; loading never fails.

use super::class::{BatchClass, OpClass, Work};
use super::fit::{fit, CostModel, Sample};
use crate::backend::DeviceInfo;
use crate::error::{Error, Result};
use crate::op::OpKind;
use std::path::Path;

/// Format of the profile file; bump when its meaning changes.
pub const FORMAT_VERSION: u32 = 1;

/// What identifies a device across runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DeviceKey {
    /// `DeviceInfo::backend`.
    pub backend: String,
    /// `DeviceInfo::device`.
    pub device: String,
    /// `DeviceInfo::driver`.
    pub driver: String,
    /// `DeviceInfo::features` (thread count, f16, subgroups change the speed).
    pub features: Vec<String>,
}

impl DeviceKey {
    /// The key of a device.
    pub fn of(info: &DeviceInfo) -> Self {
        DeviceKey {
            backend: info.backend.clone(),
            device: info.device.clone(),
            driver: info.driver.clone(),
            features: info.features.clone(),
        }
    }
}

/// Measurements and the fitted model of one op class on one device.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassProfile {
    /// The class.
    pub class: OpClass,
    /// Measured points (fastest run per size).
    pub samples: Vec<Sample>,
    /// Model fitted to `samples`.
    pub model: Option<CostModel>,
    /// The device refused the class (`supports` false or compile `Unsupported`).
    pub unsupported: bool,
}

/// Everything known about one device.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceProfile {
    /// Identity.
    pub key: DeviceKey,
    /// Cost of one `run` call as a function of the bytes passed in and out (`flops` = 0):
    /// the price of a partition boundary on this device.
    pub io: Option<CostModel>,
    /// Points behind `io`.
    pub io_samples: Vec<Sample>,
    /// Per-class measurements.
    pub classes: Vec<ClassProfile>,
}

/// Where an estimate came from, for the plan's explanation.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum EstimateSource {
    /// The class's own fitted model.
    Measured,
    /// Not measured (budget ran out): another class's model of the same op.
    Borrowed(OpClass),
    /// Nothing measured for this op on this device: a deliberately bad number.
    Unknown,
    /// The device cannot run it.
    Unsupported,
}

/// A time estimate and its provenance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// µs; infinite when unsupported.
    pub us: f64,
    /// Provenance.
    pub source: EstimateSource,
}

/// The time charged for an op no measurement speaks for: high enough that a measured
/// device wins, finite so a plan still exists.
pub const UNKNOWN_US: f64 = 1e6;

impl DeviceProfile {
    /// An empty profile for `key`.
    pub fn new(key: DeviceKey) -> Self {
        DeviceProfile {
            key,
            io: None,
            io_samples: Vec::new(),
            classes: Vec::new(),
        }
    }

    /// The entry of `class`, if measured (or found unsupported).
    pub fn class(&self, class: OpClass) -> Option<&ClassProfile> {
        self.classes.iter().find(|c| c.class == class)
    }

    /// Records measurements of `class`, refitting its model.
    pub fn record(&mut self, class: OpClass, samples: Vec<Sample>, unsupported: bool) {
        let entry = ClassProfile {
            class,
            model: fit(&samples),
            samples,
            unsupported,
        };
        match self.classes.iter_mut().find(|c| c.class == class) {
            Some(c) => *c = entry,
            None => self.classes.push(entry),
        }
    }

    /// Estimated time of a node of `class` doing `work`.
    pub fn estimate(&self, class: OpClass, work: Work) -> Estimate {
        if let Some(c) = self.class(class) {
            if c.unsupported {
                return Estimate {
                    us: f64::INFINITY,
                    source: EstimateSource::Unsupported,
                };
            }
            if let Some(m) = c.model {
                return Estimate {
                    us: m.predict_us(work),
                    source: EstimateSource::Measured,
                };
            }
        }
        for other in neighbours(class) {
            if let Some(m) = self.class(other).and_then(|c| c.model) {
                return Estimate {
                    us: m.predict_us(work),
                    source: EstimateSource::Borrowed(other),
                };
            }
        }
        Estimate {
            us: UNKNOWN_US,
            source: EstimateSource::Unknown,
        }
    }

    /// Fixed cost of one more `run` (one partition segment) on this device, µs.
    pub fn segment_us(&self) -> f64 {
        self.io.map_or(0.0, |m| m.launch_us)
    }

    /// Cost of moving `bytes` in or out of this device at a partition boundary, µs.
    pub fn transfer_us(&self, bytes: f64) -> f64 {
        self.io.map_or(0.0, |m| m.us_per_mb * bytes / 1e6)
    }
}

/// Classes whose model stands in for an unmeasured `class`, most similar first.
fn neighbours(class: OpClass) -> Vec<OpClass> {
    let batches = [BatchClass::Decode, BatchClass::Small, BatchClass::Prefill];
    match class {
        OpClass::MatMul { weight, batch } => {
            let mut v: Vec<OpClass> = [
                crate::DType::Q4_0,
                crate::DType::Q4K,
                crate::DType::Q8_0,
                crate::DType::F16,
                crate::DType::F32,
            ]
            .into_iter()
            .map(|w| OpClass::MatMul { weight: w, batch })
            .collect();
            v.extend(batches.map(|b| OpClass::MatMul { weight, batch: b }));
            v
        }
        OpClass::Attention { .. } => batches.map(|b| OpClass::Attention { batch: b }).into(),
        OpClass::Small(_) => [OpKind::Add, OpKind::Mul, OpKind::RmsNorm, OpKind::SwiGlu]
            .map(OpClass::Small)
            .into(),
    }
}

/// What [`Profile::load`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadOutcome {
    /// A current profile was read.
    Loaded,
    /// No file (first run).
    Missing,
    /// A file from another format or edgeplane version; ignored.
    Stale(String),
    /// An unreadable file; ignored (and overwritten by the next save).
    Corrupt(String),
}

/// All device profiles, as stored on disk.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// [`FORMAT_VERSION`] of the writer.
    pub format: u32,
    /// `CARGO_PKG_VERSION` of the writer.
    pub edgeplane_version: String,
    /// One entry per device ever measured with this version.
    pub devices: Vec<DeviceProfile>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            format: FORMAT_VERSION,
            edgeplane_version: env!("CARGO_PKG_VERSION").to_string(),
            devices: Vec::new(),
        }
    }
}

impl Profile {
    /// Reads the profile at `path`; never fails: anything but a current profile yields an
    /// empty one and says why.
    pub fn load(path: &Path) -> (Profile, LoadOutcome) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Profile::default(), LoadOutcome::Missing)
            }
            Err(e) => return (Profile::default(), LoadOutcome::Corrupt(e.to_string())),
        };
        let profile: Profile = match serde_json::from_str(&text) {
            Ok(p) => p,
            Err(e) => return (Profile::default(), LoadOutcome::Corrupt(e.to_string())),
        };
        let current = Profile::default();
        if profile.format != current.format
            || profile.edgeplane_version != current.edgeplane_version
        {
            let why = format!(
                "format {} of edgeplane {} (this is format {} of {})",
                profile.format,
                profile.edgeplane_version,
                current.format,
                current.edgeplane_version
            );
            return (current, LoadOutcome::Stale(why));
        }
        (profile, LoadOutcome::Loaded)
    }

    /// Writes the profile to `path` atomically (temp file + rename), creating the folder.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Schedule(format!("serializing the profile: {e}")))?;
        let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    /// The profile of the device with `key`.
    pub fn device(&self, key: &DeviceKey) -> Option<&DeviceProfile> {
        self.devices.iter().find(|d| &d.key == key)
    }

    /// The profile of the device with `key`, created empty if new.
    pub fn device_mut(&mut self, key: &DeviceKey) -> &mut DeviceProfile {
        match self.devices.iter().position(|d| &d.key == key) {
            Some(i) => &mut self.devices[i],
            None => {
                self.devices.push(DeviceProfile::new(key.clone()));
                self.devices.last_mut().expect("just pushed a device")
            }
        }
    }
}
