//! The scheduler's settings: one typed struct with defaults, and the one place that reads
//! the environment (`EDGEPLANE_CACHE_DIR`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which devices the planner may use.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Policy {
    /// Every healthy device; the fastest estimate wins per node.
    #[default]
    Fastest,
    /// Everything on the backend with this name (`DeviceInfo::backend`).
    Pin(String),
    /// Every device but these backends.
    Exclude(Vec<String>),
}

impl Policy {
    /// Whether the policy lets the planner use the backend named `backend`.
    pub fn allows(&self, backend: &str) -> bool {
        match self {
            Policy::Fastest => true,
            Policy::Pin(p) => p == backend,
            Policy::Exclude(list) => !list.iter().any(|x| x == backend),
        }
    }
}

/// How large the measured shapes are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeasureScale {
    /// Shapes of a 1B-class layer (hidden 2048, ffn 8192), so estimates extrapolate little.
    #[default]
    Standard,
    /// Shapes 16× smaller per dim: for tests, where the device is a slowed-down reference.
    Tiny,
}

/// Where time comes from when measuring. The wall clock by default; tests inject a
/// virtual clock that their throttled backends advance, so speed assertions are
/// deterministic and never depend on how busy the machine is.
pub trait Clock: Send + Sync {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
}

/// The real monotonic clock.
#[derive(Debug)]
pub struct WallClock(Instant);

impl Default for WallClock {
    fn default() -> Self {
        WallClock(Instant::now())
    }
}

impl Clock for WallClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// Settings of a [`super::Scheduler`].
#[derive(Clone)]
pub struct SchedSettings {
    /// Folder of the profile file; `None` means the platform cache dir + `edgeplane`.
    pub cache_dir: Option<PathBuf>,
    /// Wall-clock time measuring may take in one call, across all devices. Classes left
    /// unmeasured when it runs out are estimated from their neighbours.
    pub budget: Duration,
    /// Which devices to use.
    pub policy: Policy,
    /// Plan onto the reference backend (`cpu-ref`) too. Off by default: it is the ground
    /// truth for conformance, deliberately naive, and measuring it wastes the budget.
    pub include_reference: bool,
    /// Measured shape sizes.
    pub scale: MeasureScale,
    /// Clock used to time runs.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SchedSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedSettings")
            .field("cache_dir", &self.cache_dir)
            .field("budget", &self.budget)
            .field("policy", &self.policy)
            .field("include_reference", &self.include_reference)
            .field("scale", &self.scale)
            .finish()
    }
}

impl Default for SchedSettings {
    fn default() -> Self {
        SchedSettings {
            cache_dir: None,
            budget: Duration::from_secs(45),
            policy: Policy::Fastest,
            include_reference: false,
            scale: MeasureScale::Standard,
            clock: Arc::new(WallClock::default()),
        }
    }
}

/// File name of the profile; the `v1` changes with [`super::profile::FORMAT_VERSION`].
pub const PROFILE_FILE: &str = "profile-v1.json";

impl SchedSettings {
    /// Defaults, with `cache_dir` from `EDGEPLANE_CACHE_DIR` when set (documented in
    /// README.md). The only place the scheduler reads the environment.
    pub fn from_env() -> Self {
        SchedSettings {
            cache_dir: std::env::var_os("EDGEPLANE_CACHE_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            ..Self::default()
        }
    }

    /// Where the profile lives, or `None` when the platform has no cache dir (the profile
    /// then lives in memory only).
    pub fn profile_path(&self) -> Option<PathBuf> {
        let dir = match &self.cache_dir {
            Some(d) => d.clone(),
            None => dirs::cache_dir()?.join("edgeplane"),
        };
        Some(dir.join(PROFILE_FILE))
    }
}
