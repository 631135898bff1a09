//! candle-core as a second anchor: its quantized matmul (`QMatMul`), fed the same ggml block
//! bytes as edgeplane, and decode attention composed from its tensor ops
//! ([`CandleAttention`]; candle-core has no fused CPU attention). candle's block structs
//! are `#[repr(C)]` copies of ggml's, so the bytes are taken as-is;
//! `tests/fast_anchor_candle.rs` checks that both anchors compute what edgeplane does.
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

/// Decode attention (one query row) as an engine built on candle-core runs it on the CPU:
/// the K/V caches as f16 tensors laid out per KV head (candle's `[heads, seq, head_dim]`,
/// K kept transposed so the scores are one batched matmul; both made once, outside the
/// timing, from the same f16 bytes edgeplane and ggml read), the query heads of each KV
/// head batched against it (grouped-query attention without copying K/V per query head),
/// scores in f32 through a max-subtracted softmax, then the f16 matmul with V.
pub struct CandleAttention {
    /// `[n_kv_head, head_dim, kv_len]`.
    k_t: Tensor,
    /// `[n_kv_head, kv_len, head_dim]`.
    v: Tensor,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    scale: f64,
}

impl CandleAttention {
    /// Caches `k`, `v` (`[kv_len, n_kv_head · head_dim]` f16, the rows edgeplane's
    /// `Attention` takes).
    pub fn new(
        n_head: usize,
        n_kv_head: usize,
        head_dim: usize,
        k: &[half::f16],
        v: &[half::f16],
        scale: f32,
    ) -> Result<CandleAttention> {
        let width = n_kv_head * head_dim;
        if n_kv_head == 0 || head_dim == 0 || !n_head.is_multiple_of(n_kv_head) {
            return Err(Error::Shape(format!(
                "candle attention: {n_head} query heads over {n_kv_head} KV heads of {head_dim}"
            )));
        }
        if k.len() != v.len() || !k.len().is_multiple_of(width) || k.is_empty() {
            return Err(Error::Shape(format!(
                "candle attention: K has {} and V {} values, expected equal whole rows of {width}",
                k.len(),
                v.len()
            )));
        }
        let kv_len = k.len() / width;
        let per_head = |rows: &[half::f16]| {
            Tensor::from_slice(rows, (kv_len, n_kv_head, head_dim), &Device::Cpu)
                .and_then(|t| t.transpose(0, 1))
        };
        let k_t = per_head(k)
            .and_then(|t| t.transpose(1, 2)?.contiguous())
            .map_err(candle_error)?;
        let v = per_head(v)
            .and_then(|t| t.contiguous())
            .map_err(candle_error)?;
        Ok(CandleAttention {
            k_t,
            v,
            n_head,
            n_kv_head,
            head_dim,
            scale: f64::from(scale),
        })
    }

    /// The attention of one query row `q` (`n_head · head_dim` f32) over the whole cache;
    /// returns `n_head · head_dim` f32, heads in order.
    pub fn run(&self, q: &[f32]) -> Result<Vec<f32>> {
        use candle_core::{DType as CandleDType, D};
        if q.len() != self.n_head * self.head_dim {
            return Err(Error::InvalidInput(format!(
                "candle attention: q has {} values, expected {}x{}",
                q.len(),
                self.n_head,
                self.head_dim
            )));
        }
        let group = self.n_head / self.n_kv_head;
        let out = (|| {
            let q = Tensor::from_slice(q, (self.n_kv_head, group, self.head_dim), &Device::Cpu)?
                .to_dtype(CandleDType::F16)?;
            let scores = (q.matmul(&self.k_t)?.to_dtype(CandleDType::F32)? * self.scale)?;
            let max = scores.max_keepdim(D::Minus1)?;
            let e = scores.broadcast_sub(&max)?.exp()?;
            let p = e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?;
            let o = p.to_dtype(CandleDType::F16)?.matmul(&self.v)?;
            o.to_dtype(CandleDType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()
        })()
        .map_err(candle_error)?;
        Ok(out)
    }
}
