//! How the fast backend holds tensor values between nodes: typed vectors for what kernels
//! read as numbers, shared raw bytes for weights in any dtype.

use crate::error::{Error, Result};
use crate::tensor::{Bytes, HostTensor, TensorDesc};
use crate::DType;
use half::{bf16, f16};

/// `buf` (from the executable's `BufferPool`, usually with room for `len` already) as
/// `len` zeros.
pub fn zeroed(mut buf: Vec<f32>, len: usize) -> Vec<f32> {
    buf.clear();
    buf.resize(len, 0.0);
    buf
}

/// `buf` resized to `len` values for an op that writes every one of them: what it held
/// stays (stale values, all overwritten), only growth is zero-filled, so a recycled
/// buffer is not cleared first (8 MB of `memset` per run of a 4096-wide matmul at n = 512).
pub fn overwritten(mut buf: Vec<f32>, len: usize) -> Vec<f32> {
    buf.resize(len, 0.0);
    buf
}

/// A tensor's data during a run.
#[derive(Clone, Debug)]
pub enum Value {
    /// f32 values.
    F32(Vec<f32>),
    /// f16 values (KV caches, casts).
    F16(Vec<f16>),
    /// bf16 values (casts).
    BF16(Vec<bf16>),
    /// i32 values (ids, positions).
    I32(Vec<i32>),
    /// Raw bytes of any dtype (weights, shared with the graph: no copy).
    Raw(Bytes),
}

impl Value {
    /// Takes a host tensor's bytes into the typed form its dtype has.
    pub fn from_bytes(dtype: DType, bytes: &[u8]) -> Value {
        match dtype {
            DType::F32 => Value::F32(bytemuck::pod_collect_to_vec(bytes)),
            DType::F16 => Value::F16(bytemuck::pod_collect_to_vec(bytes)),
            DType::BF16 => Value::BF16(bytemuck::pod_collect_to_vec(bytes)),
            DType::I32 => Value::I32(bytemuck::pod_collect_to_vec(bytes)),
            _ => Value::Raw(Bytes::from_vec(bytes.to_vec())),
        }
    }

    /// [`Value::from_bytes`], with f32 data copied into `buf` (from the executable's
    /// `BufferPool`).
    pub fn from_bytes_into(dtype: DType, bytes: &[u8], buf: Vec<f32>) -> Value {
        if dtype != DType::F32 {
            return Value::from_bytes(dtype, bytes);
        }
        // Every value is copied in, so the recycled buffer is not zeroed first.
        let mut v = overwritten(buf, bytes.len() / 4);
        bytemuck::cast_slice_mut::<f32, u8>(&mut v).copy_from_slice(bytes);
        Value::F32(v)
    }

    /// A constant: plain types are copied into typed vectors once at compile, block
    /// formats stay shared with the graph.
    pub fn from_constant(dtype: DType, bytes: &Bytes) -> Value {
        if dtype.is_quantized() {
            Value::Raw(bytes.clone())
        } else {
            Value::from_bytes(dtype, bytes.as_slice())
        }
    }

    /// Zeroed state of `desc` (F32 or F16).
    pub fn zeros(desc: &TensorDesc) -> Value {
        let n = desc.shape.elements();
        match desc.dtype {
            DType::F16 => Value::F16(vec![f16::ZERO; n]),
            _ => Value::F32(vec![0.0; n]),
        }
    }

    /// The values as f32, for ops that take f32 (`what` names the tensor in errors).
    pub fn f32s(&self, what: &str) -> Result<&[f32]> {
        match self {
            Value::F32(v) => Ok(v),
            _ => Err(Error::InvalidInput(format!("{what}: expected f32 data"))),
        }
    }

    /// The values as i32.
    pub fn i32s(&self, what: &str) -> Result<&[i32]> {
        match self {
            Value::I32(v) => Ok(v),
            _ => Err(Error::InvalidInput(format!("{what}: expected i32 data"))),
        }
    }

    /// Widens any float value to f32 into `out` (a recycled buffer: its capacity is
    /// reused, nothing is zeroed first; a quantized value is dequantized into a new one).
    pub fn widen_into(&self, mut out: Vec<f32>, dtype: DType, elements: usize) -> Result<Vec<f32>> {
        out.clear();
        match self {
            Value::F32(v) => out.extend_from_slice(v),
            Value::F16(v) => out.extend(v.iter().map(|x| x.to_f32())),
            Value::BF16(v) => out.extend(v.iter().map(|x| x.to_f32())),
            Value::I32(v) => out.extend(v.iter().map(|&x| x as f32)),
            Value::Raw(b) => {
                out = edgeplane_kernels::quant::dequantize(dtype, b.as_slice(), elements)?
            }
        }
        Ok(out)
    }

    /// Widens any float value to f32 (allocates).
    pub fn to_f32_vec(&self, dtype: DType, elements: usize) -> Result<Vec<f32>> {
        self.widen_into(Vec::new(), dtype, elements)
    }

    /// Raw little-endian bytes (for weights and outputs).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Value::F32(v) => bytemuck::cast_slice(v),
            Value::F16(v) => bytemuck::cast_slice(v),
            Value::BF16(v) => bytemuck::cast_slice(v),
            Value::I32(v) => bytemuck::cast_slice(v),
            Value::Raw(b) => b.as_slice(),
        }
    }

    /// A host tensor of `desc` holding this value.
    pub fn to_host(&self, desc: &TensorDesc) -> Result<HostTensor> {
        HostTensor::new(desc.clone(), self.bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::fast::buffers::BufferPool;

    #[test]
    fn widening_into_a_recycled_buffer_reuses_it_and_matches_the_allocating_path() {
        let halves: Vec<f16> = [0.5f32, -2.0, 3.25]
            .iter()
            .map(|&v| f16::from_f32(v))
            .collect();
        let want: Vec<f32> = halves.iter().map(|h| h.to_f32()).collect();
        let x = Value::F16(halves);
        let mut recycled = Vec::with_capacity(64);
        recycled.extend_from_slice(&[9.0; 10]);
        let at = recycled.as_ptr();
        let got = x.widen_into(recycled, DType::F16, 3).unwrap();
        assert_eq!(
            got,
            [0.5, -2.0, 3.25],
            "stale values gone, only the widened ones"
        );
        assert_eq!(got.as_ptr(), at, "the recycled allocation is reused");
        assert_eq!(got, want, "each value widened by `f16::to_f32`");
    }

    #[test]
    fn a_recycled_buffer_is_cleared_by_zeroed_and_left_alone_by_overwritten() {
        let mut pool = BufferPool::default();
        pool.give(vec![7.0; 8]);
        // An op that writes every value gets the stale buffer as it is: no memset.
        let kept = overwritten(pool.take(8), 8);
        assert_eq!(kept, [7.0; 8]);
        pool.give(kept);
        // Shorter: truncated; longer: only the growth is zero-filled.
        assert_eq!(overwritten(pool.take(3), 3), [7.0; 3]);
        pool.give(vec![7.0; 4]);
        let grown = overwritten(pool.take(4), 6);
        assert_eq!(grown, [7.0, 7.0, 7.0, 7.0, 0.0, 0.0]);
        pool.give(grown);
        // An op that accumulates gets zeros.
        assert_eq!(zeroed(pool.take(6), 6), [0.0; 6]);
    }
}
