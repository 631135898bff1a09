//! candle-core's quantized matmul (`QMatMul`) as a second anchor, fed the same ggml block
//! bytes as edgeplane (candle's block structs are `#[repr(C)]` copies of ggml's, so the
//! bytes are taken as-is; `tests/fast_anchor_candle.rs` checks the products agree).
//!
//! What candle 0.11 runs on x86: Q4_K always, Q8_0 with AVX-VNNI or AVX512-VNNI and Q6_K
//! from 2 rows go through its repacked tiles (selected at run time; packed on the first
//! call and cached in the `QTensor`; Q4_K with 32+ rows uses AMX where the CPU and kernel
//! allow it); everything else (Q4_0, decode Q6_K) runs its `vec_dot` loop (AVX2+FMA,
//! detected at run time; no AVX-512 there). All of it is chosen at run time, so candle
//! needs no `-C target-cpu=native` to be at its best. Its matmul threads come from
//! `CANDLE_NUM_THREADS` (falling back to `RAYON_NUM_THREADS`, then the physical core
//! count), read once per process when its worker pool starts.

use crate::error::{Error, Result};
use crate::DType;
use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul};
use candle_core::{Device, Module, Tensor};

fn candle_error(e: candle_core::Error) -> Error {
    Error::Device {
        backend: "candle".into(),
        message: e.to_string(),
    }
}

fn candle_dtype(dtype: DType) -> Result<GgmlDType> {
    Ok(match dtype {
        DType::F32 => GgmlDType::F32,
        DType::F16 => GgmlDType::F16,
        DType::BF16 => GgmlDType::BF16,
        DType::Q4_0 => GgmlDType::Q4_0,
        DType::Q4_1 => GgmlDType::Q4_1,
        DType::Q5_0 => GgmlDType::Q5_0,
        DType::Q5_1 => GgmlDType::Q5_1,
        DType::Q8_0 => GgmlDType::Q8_0,
        DType::Q2K => GgmlDType::Q2K,
        DType::Q3K => GgmlDType::Q3K,
        DType::Q4K => GgmlDType::Q4K,
        DType::Q5K => GgmlDType::Q5K,
        DType::Q6K => GgmlDType::Q6K,
        other => {
            return Err(Error::UnsupportedDType {
                dtype: other,
                context: "candle QMatMul anchor".into(),
            })
        }
    })
}

/// `y = x · Wᵀ` through candle's `QMatMul` on its CPU device.
pub struct CandleMatMul {
    matmul: QMatMul,
    m: usize,
    k: usize,
}

impl CandleMatMul {
    /// Wraps weights `[m, k]` of `dtype` (ggml block bytes, which candle shares).
    pub fn new(dtype: DType, weight_bytes: &[u8], m: usize, k: usize) -> Result<CandleMatMul> {
        let want = crate::TensorDesc::new(dtype, [m, k]).byte_len()?;
        if weight_bytes.len() != want {
            return Err(Error::Shape(format!(
                "candle matmul: {dtype}[{m}, {k}] needs {want} bytes, got {}",
                weight_bytes.len()
            )));
        }
        // candle reinterprets the bytes as its block structs (2- or 4-byte aligned); copy
        // into 8-byte aligned storage when the caller's slice is not (e.g. an mmap offset).
        let aligned: Vec<u64>;
        let bytes = if weight_bytes.as_ptr().align_offset(8) == 0 {
            weight_bytes
        } else {
            aligned = {
                let mut v = vec![0u64; weight_bytes.len().div_ceil(8)];
                bytemuck::cast_slice_mut::<u64, u8>(&mut v)[..weight_bytes.len()]
                    .copy_from_slice(weight_bytes);
                v
            };
            &bytemuck::cast_slice::<u64, u8>(&aligned)[..weight_bytes.len()]
        };
        let q = qtensor_from_ggml(candle_dtype(dtype)?, bytes, vec![m, k], &Device::Cpu)
            .map_err(candle_error)?;
        let matmul = QMatMul::from_qtensor(q).map_err(candle_error)?;
        Ok(CandleMatMul { matmul, m, k })
    }

    /// Runs on activations `x` (`n × k`); returns `[n, m]`.
    pub fn run(&self, x: &[f32], n: usize) -> Result<Vec<f32>> {
        if x.len() != n * self.k {
            return Err(Error::InvalidInput(format!(
                "candle matmul: x has {} values, expected {n}x{}",
                x.len(),
                self.k
            )));
        }
        let xs = Tensor::from_slice(x, (n, self.k), &Device::Cpu).map_err(candle_error)?;
        let y = self.matmul.forward(&xs).map_err(candle_error)?;
        let out: Vec<f32> = y
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .map_err(candle_error)?;
        debug_assert_eq!(out.len(), n * self.m);
        Ok(out)
    }
}
