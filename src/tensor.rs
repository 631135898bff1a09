//! Shapes, tensor descriptions and host-side tensor data.
//!
//! **Dimension order.** edgeplane writes shapes in row-major order, outermost first, as numpy
//! and PyTorch do: a weight matrix of `m` output rows and `k` inputs is `[m, k]`, and its
//! rows are contiguous. GGUF (like ggml) stores `ne`, innermost first, so a GGUF tensor with
//! `ne = [k, m]` is `Shape([m, k])` here. [`Shape::from_ggml_ne`] and [`Shape::to_ggml_ne`]
//! are the only places that reverse the order.

use crate::error::{Error, Result};
use crate::DType;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Dimensions in row-major order, outermost first.
#[derive(Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Shape(pub Vec<usize>);

impl Shape {
    /// A shape from row-major dims.
    pub fn new(dims: impl Into<Vec<usize>>) -> Self {
        Shape(dims.into())
    }

    /// From ggml's `ne` (innermost first).
    pub fn from_ggml_ne(ne: &[u64]) -> Self {
        Shape(ne.iter().rev().map(|&d| d as usize).collect())
    }

    /// To ggml's `ne` (innermost first).
    pub fn to_ggml_ne(&self) -> Vec<u64> {
        self.0.iter().rev().map(|&d| d as u64).collect()
    }

    /// The dims.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Number of dims.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Product of the dims (1 for a scalar).
    pub fn elements(&self) -> usize {
        self.0.iter().product()
    }

    /// The innermost (contiguous) dim, or 1 for a scalar.
    pub fn cols(&self) -> usize {
        self.0.last().copied().unwrap_or(1)
    }

    /// Product of every dim but the innermost: the number of rows of the 2-D view.
    pub fn rows(&self) -> usize {
        self.0[..self.0.len().saturating_sub(1)].iter().product()
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

/// A tensor's dtype and shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorDesc {
    /// Element or block type.
    pub dtype: DType,
    /// Row-major dims.
    pub shape: Shape,
}

impl TensorDesc {
    /// A description.
    pub fn new(dtype: DType, shape: impl Into<Vec<usize>>) -> Self {
        TensorDesc {
            dtype,
            shape: Shape::new(shape),
        }
    }

    /// Bytes the tensor takes, or a shape error when the innermost dim is not a whole
    /// number of blocks (ggml blocks never straddle rows).
    pub fn byte_len(&self) -> Result<usize> {
        let cols = self.shape.cols();
        if !cols.is_multiple_of(self.dtype.block_size()) {
            return Err(Error::Shape(format!(
                "{} rows of {cols} values are not whole {}-value blocks of {}",
                self.shape,
                self.dtype.block_size(),
                self.dtype
            )));
        }
        self.dtype
            .bytes_for(self.shape.elements() as u64)
            .and_then(|b| usize::try_from(b).ok())
            .ok_or_else(|| Error::Shape(format!("{} of {} overflows", self.shape, self.dtype)))
    }

    /// Bytes of one row (innermost dim).
    pub fn row_bytes(&self) -> usize {
        self.shape.cols() / self.dtype.block_size() * self.dtype.block_bytes()
    }
}

impl fmt::Display for TensorDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.dtype, self.shape)
    }
}

/// Shared, immutable bytes that may live in a memory map or a `Vec`, so weights read from
/// a GGUF file reach a backend without a copy.
#[derive(Clone)]
pub struct Bytes {
    owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
    range: Range<usize>,
}

impl Bytes {
    /// Takes ownership of a vector.
    pub fn from_vec(v: Vec<u8>) -> Self {
        let len = v.len();
        Bytes {
            owner: Arc::new(v),
            range: 0..len,
        }
    }

    /// A view of `range` inside `owner`; a shape error if the range is outside it.
    pub fn slice_of(
        owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
        range: Range<usize>,
    ) -> Result<Self> {
        let len = (*owner).as_ref().len();
        if range.start > range.end || range.end > len {
            return Err(Error::Shape(format!(
                "byte range {range:?} outside a buffer of {len} bytes"
            )));
        }
        Ok(Bytes { owner, range })
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &(*self.owner).as_ref()[self.range.clone()]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.len())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes::from_vec(v)
    }
}

/// A tensor in host memory: what goes into and comes out of [`crate::Executable::run`].
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    /// dtype and shape.
    pub desc: TensorDesc,
    /// Little-endian bytes in the dtype's layout.
    pub data: Vec<u8>,
}

impl HostTensor {
    /// Checked constructor: `data` must be exactly the size `desc` needs.
    pub fn new(desc: TensorDesc, data: Vec<u8>) -> Result<Self> {
        let want = desc.byte_len()?;
        if data.len() != want {
            return Err(Error::Shape(format!(
                "{desc} needs {want} bytes, got {}",
                data.len()
            )));
        }
        Ok(HostTensor { desc, data })
    }

    /// An f32 tensor; a shape error if `values` does not fill `shape`.
    pub fn from_f32(shape: impl Into<Vec<usize>>, values: &[f32]) -> Result<Self> {
        HostTensor::new(
            TensorDesc::new(DType::F32, shape),
            bytemuck::cast_slice(values).to_vec(),
        )
    }

    /// An i32 tensor (token ids, positions).
    pub fn from_i32(shape: impl Into<Vec<usize>>, values: &[i32]) -> Result<Self> {
        HostTensor::new(
            TensorDesc::new(DType::I32, shape),
            bytemuck::cast_slice(values).to_vec(),
        )
    }

    /// A zero-filled tensor.
    pub fn zeros(desc: TensorDesc) -> Result<Self> {
        let n = desc.byte_len()?;
        Ok(HostTensor {
            desc,
            data: vec![0; n],
        })
    }

    /// The values as f32, dequantizing or widening as needed.
    pub fn to_f32(&self) -> Result<Vec<f32>> {
        Ok(edgeplane_kernels::quant::dequantize(
            self.desc.dtype,
            &self.data,
            self.desc.shape.elements(),
        )?)
    }

    /// The values as i32; an error unless the dtype is I32.
    pub fn to_i32(&self) -> Result<Vec<i32>> {
        if self.desc.dtype != DType::I32 {
            return Err(Error::UnsupportedDType {
                dtype: self.desc.dtype,
                context: "reading as i32".into(),
            });
        }
        Ok(bytemuck::pod_collect_to_vec(&self.data))
    }
}
