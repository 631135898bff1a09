//! candle-core's quantized matmul (`QMatMul`) as a second anchor. candle picks its SIMD at
//! compile time (`#[cfg(target_feature)]`), so compare against it built with
//! `RUSTFLAGS="-C target-cpu=native"`; its thread count comes from `CANDLE_NUM_THREADS`,
//! read once per process (the bench sets it before the first call).

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
        let q = qtensor_from_ggml(candle_dtype(dtype)?, weight_bytes, vec![m, k], &Device::Cpu)
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
