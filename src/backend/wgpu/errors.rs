//! Maps wgpu's error reporting (error scopes, the uncaptured-error handler, the
//! device-lost callback) to `edgeplane::Error`, so device failures come back from
//! `compile` and `run` as typed errors instead of wgpu's default panic.

use crate::error::Error;
use std::sync::{Arc, Mutex};

/// Errors raised by the device outside any error scope, and whether it was lost.
/// Shared with the callbacks wgpu holds.
#[derive(Default)]
pub struct DeviceHealth {
    lost: Mutex<Option<String>>,
    uncaptured: Mutex<Option<String>>,
}

impl DeviceHealth {
    /// Installs the device-lost callback and the uncaptured-error handler on `device`.
    pub fn install(device: &::wgpu::Device) -> Arc<DeviceHealth> {
        let health = Arc::new(DeviceHealth::default());
        let h = health.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut lost) = h.lost.lock() {
                *lost = Some(format!("{reason:?}: {message}"));
            }
        });
        let h = health.clone();
        device.on_uncaptured_error(Arc::new(move |e: ::wgpu::Error| {
            if let Ok(mut u) = h.uncaptured.lock() {
                u.get_or_insert_with(|| e.to_string());
            }
        }));
        health
    }

    /// `DeviceLost` if the device was lost, else the first uncaptured error (cleared).
    pub fn check(&self, backend: &str) -> Result<(), Error> {
        if let Some(m) = self.lost.lock().ok().and_then(|l| l.clone()) {
            return Err(Error::DeviceLost {
                backend: backend.into(),
                message: m,
            });
        }
        if let Some(m) = self.uncaptured.lock().ok().and_then(|mut u| u.take()) {
            return Err(Error::Device {
                backend: backend.into(),
                message: m,
            });
        }
        Ok(())
    }
}

/// Converts a wgpu error caught by a scope.
pub fn from_wgpu(backend: &str, what: &str, e: ::wgpu::Error) -> Error {
    match e {
        ::wgpu::Error::OutOfMemory { .. } => Error::OutOfMemory {
            backend: backend.into(),
            message: format!("{what}: {e}"),
        },
        other => Error::Device {
            backend: backend.into(),
            message: format!("{what}: {other}"),
        },
    }
}

/// Runs `f` inside out-of-memory, validation and internal error scopes and turns the first
/// error caught into an `edgeplane::Error`. Scopes are thread-local, so `f` must not hand
/// device work to another thread.
pub fn scoped<T>(
    device: &::wgpu::Device,
    health: &DeviceHealth,
    backend: &str,
    what: &str,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    health.check(backend)?;
    let oom = device.push_error_scope(::wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(::wgpu::ErrorFilter::Validation);
    let internal = device.push_error_scope(::wgpu::ErrorFilter::Internal);
    let out = f();
    let errors = [
        pollster::block_on(internal.pop()),
        pollster::block_on(validation.pop()),
        pollster::block_on(oom.pop()),
    ];
    health.check(backend)?;
    if let Some(e) = errors.into_iter().flatten().next() {
        return Err(from_wgpu(backend, what, e));
    }
    out
}
