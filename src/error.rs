//! The one error type of the library. Every variant says what went wrong and where: which
//! file and byte offset, which tensor, which backend and op.

use crate::DType;
use std::path::PathBuf;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in edgeplane. Inputs and devices never cause a panic; they
/// cause one of these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, mapped or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A GGUF file is malformed or hostile.
    #[error("GGUF error at byte {offset}: {reason}")]
    Gguf {
        /// Byte offset into the file where the problem was found.
        offset: u64,
        /// What is wrong, naming the key or tensor where there is one.
        reason: String,
    },
    /// A backend cannot run an op (dtype, shape or feature it lacks).
    #[error("backend {backend} does not support {op}")]
    Unsupported {
        /// The backend's name.
        backend: String,
        /// The op and what about it is unsupported.
        op: String,
    },
    /// Shapes or dtypes of tensors do not fit together.
    #[error("shape error: {0}")]
    Shape(String),
    /// A value given at run time is wrong (input count, dtype, position out of range).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A quantized row could not be converted.
    #[error("quantization: {0}")]
    Quant(#[from] edgeplane_kernels::quant::QuantError),
    /// A dtype the operation does not handle.
    #[error("unsupported dtype {dtype} for {context}")]
    UnsupportedDType {
        /// The dtype.
        dtype: DType,
        /// What was being done.
        context: String,
    },
    /// The device reported an error (validation, internal, driver).
    #[error("device error on {backend}: {message}")]
    Device {
        /// The backend's name.
        backend: String,
        /// What the device said.
        message: String,
    },
    /// The device was lost (driver reset, GPU removed); the backend must be recreated.
    #[error("device lost on {backend}: {message}")]
    DeviceLost {
        /// The backend's name.
        backend: String,
        /// What the device said.
        message: String,
    },
    /// The device has not enough memory for the request.
    #[error("out of memory on {backend}: {message}")]
    OutOfMemory {
        /// The backend's name.
        backend: String,
        /// What was being allocated.
        message: String,
    },
    /// No device or backend of the kind asked for is present.
    #[error("{0} is not available on this machine")]
    NotAvailable(String),
    /// A model file does not describe a model edgeplane can run.
    #[error("model error: {0}")]
    Model(String),
    /// The context window is full.
    #[error("context overflow: {needed} positions needed, the context holds {limit}")]
    ContextOverflow {
        /// Positions the request needs.
        needed: usize,
        /// The context length.
        limit: usize,
    },
    /// The scheduler's profile or plan could not be made.
    #[error("scheduler: {0}")]
    Schedule(String),
}

impl Error {
    /// A GGUF error at `offset`.
    pub fn gguf(offset: u64, reason: impl Into<String>) -> Self {
        Error::Gguf {
            offset,
            reason: reason.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True for errors after which the device should not be used again (the scheduler
    /// re-plans around it).
    pub fn is_device_failure(&self) -> bool {
        matches!(
            self,
            Error::Device { .. } | Error::DeviceLost { .. } | Error::OutOfMemory { .. }
        )
    }
}
