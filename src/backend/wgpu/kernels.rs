//! The WGSL kernel library and the one step that composes its sources.
//!
//! Kernel templates in `shaders/` contain `//#include <part>` lines; [`compose`] replaces
//! each with one part: `half` (f16 bit conversion), `reduce`
//! (workgroup sum: shared-memory tree or subgroup variant), `kv` (K/V cache reads: 32-bit
//! words or native f16), `common` (byte access to packed
//! weights) and `quant` (the per-dtype `dequant_block_elem` from `shaders/quant/`, and its
//! optional `dequant_piece` — a faster whole-piece unpacking — or, when a file has none, the
//! per-element default from `piece_default.wgsl`). A new quant format is one file in
//! `shaders/quant/` plus one line in [`quant_source`].
//!
//! **Weight layout.** Quantized weights stay raw GGUF block bytes, bound as `array<u32>`
//! and read through byte-extracting helpers (`wbyte`, `wu16`): no repacking at upload,
//! so row splits and the bytes on the device are exactly the file's. The cost is a few
//! shifts per field, paid in registers.

use crate::error::{Error, Result};
use crate::DType;

/// A kernel family: one WGSL template each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kernel {
    /// Decode matmul (n <= 8).
    MatVec,
    /// Prefill matmul (tiled).
    MatMulTiled,
    /// Embedding lookup from a (quantized) table.
    GetRows,
    /// dtype conversion.
    Cast,
    /// RMS norm and layer norm.
    Norm,
    /// Rotary embedding.
    Rope,
    /// SwiGLU/GeGLU, add, mul.
    Elementwise,
    /// Row softmax.
    Softmax,
    /// Flash attention over a KV cache.
    Attention,
    /// Merges split-KV attention partials.
    AttentionCombine,
    /// Writes rows into a KV cache.
    KvWrite,
}

impl Kernel {
    /// Every kernel family.
    pub const ALL: [Kernel; 11] = [
        Kernel::MatVec,
        Kernel::MatMulTiled,
        Kernel::GetRows,
        Kernel::Cast,
        Kernel::Norm,
        Kernel::Rope,
        Kernel::Elementwise,
        Kernel::Softmax,
        Kernel::Attention,
        Kernel::AttentionCombine,
        Kernel::KvWrite,
    ];

    /// The template's file name in `shaders/`.
    pub fn file(self) -> &'static str {
        match self {
            Kernel::MatVec => "matvec.wgsl",
            Kernel::MatMulTiled => "matmul_tiled.wgsl",
            Kernel::GetRows => "get_rows.wgsl",
            Kernel::Cast => "cast.wgsl",
            Kernel::Norm => "norm.wgsl",
            Kernel::Rope => "rope.wgsl",
            Kernel::Elementwise => "elementwise.wgsl",
            Kernel::Softmax => "softmax.wgsl",
            Kernel::Attention => "attention.wgsl",
            Kernel::AttentionCombine => "attention_combine.wgsl",
            Kernel::KvWrite => "kv_write.wgsl",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Kernel::MatVec => include_str!("../../../shaders/matvec.wgsl"),
            Kernel::MatMulTiled => include_str!("../../../shaders/matmul_tiled.wgsl"),
            Kernel::GetRows => include_str!("../../../shaders/get_rows.wgsl"),
            Kernel::Cast => include_str!("../../../shaders/cast.wgsl"),
            Kernel::Norm => include_str!("../../../shaders/norm.wgsl"),
            Kernel::Rope => include_str!("../../../shaders/rope.wgsl"),
            Kernel::Elementwise => include_str!("../../../shaders/elementwise.wgsl"),
            Kernel::Softmax => include_str!("../../../shaders/softmax.wgsl"),
            Kernel::Attention => include_str!("../../../shaders/attention.wgsl"),
            Kernel::AttentionCombine => include_str!("../../../shaders/attention_combine.wgsl"),
            Kernel::KvWrite => include_str!("../../../shaders/kv_write.wgsl"),
        }
    }

    /// Whether the template includes a per-dtype unpack function.
    pub fn takes_dtype(self) -> bool {
        self.template().contains("//#include quant")
    }

    /// Whether the template has a native-f16 variant (it includes `kv`), used for f16 data.
    pub fn has_f16_variant(self) -> bool {
        self.template().contains("//#include kv")
    }

    /// Whether the template has a subgroup variant (it includes `reduce`).
    pub fn has_subgroup_variant(self) -> bool {
        self.template().contains("//#include reduce")
    }
}

/// Which optional device features a composed shader uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Variant {
    /// Native f16 (`enable f16;`, needs `SHADER_F16`): f16 caches read as `f16`.
    pub f16: bool,
    /// Subgroup reductions (needs `SUBGROUP`).
    pub subgroup: bool,
}

/// The unpack source of a dtype; `None` for dtypes without one (I32, Q8_K).
pub fn quant_source(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F32 => include_str!("../../../shaders/quant/f32.wgsl"),
        DType::F16 => include_str!("../../../shaders/quant/f16.wgsl"),
        DType::BF16 => include_str!("../../../shaders/quant/bf16.wgsl"),
        DType::Q4_0 => include_str!("../../../shaders/quant/q4_0.wgsl"),
        DType::Q4_1 => include_str!("../../../shaders/quant/q4_1.wgsl"),
        DType::Q5_0 => include_str!("../../../shaders/quant/q5_0.wgsl"),
        DType::Q5_1 => include_str!("../../../shaders/quant/q5_1.wgsl"),
        DType::Q8_0 => include_str!("../../../shaders/quant/q8_0.wgsl"),
        DType::Q2K => include_str!("../../../shaders/quant/q2_k.wgsl"),
        DType::Q3K => include_str!("../../../shaders/quant/q3_k.wgsl"),
        DType::Q4K => include_str!("../../../shaders/quant/q4_k.wgsl"),
        DType::Q5K => include_str!("../../../shaders/quant/q5_k.wgsl"),
        DType::Q6K => include_str!("../../../shaders/quant/q6_k.wgsl"),
        DType::Q8K | DType::I32 => return None,
    })
}

/// Builds the WGSL of `kernel` for `dtype` (the weight or input dtype, for kernels that
/// take one) and `variant`. Errors name the kernel and the include that cannot be filled.
pub fn compose(kernel: Kernel, dtype: Option<DType>, variant: Variant) -> Result<String> {
    let fail = |what: String| Error::Unsupported {
        backend: "wgpu".into(),
        op: format!("{kernel:?} shader: {what}"),
    };
    let mut out = String::new();
    if variant.f16 {
        out.push_str("enable f16;\n");
    }
    for line in kernel.template().lines() {
        let Some(part) = line.trim().strip_prefix("//#include ") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let text = match part.trim() {
            "half" => include_str!("../../../shaders/half_plain.wgsl"),
            "reduce" if variant.subgroup => include_str!("../../../shaders/reduce_subgroup.wgsl"),
            "reduce" => include_str!("../../../shaders/reduce_workgroup.wgsl"),
            "kv" if variant.f16 => include_str!("../../../shaders/kv_f16.wgsl"),
            "kv" => include_str!("../../../shaders/kv_words.wgsl"),
            "common" => include_str!("../../../shaders/common.wgsl"),
            "quant" => {
                let d = dtype.ok_or_else(|| fail("needs a dtype".into()))?;
                let unpack =
                    quant_source(d).ok_or_else(|| fail(format!("no unpack function for {d}")))?;
                out.push_str(&format!("// ---- quant {d} ----\n"));
                out.push_str(unpack);
                // A format without its own piece unpacking gets the per-element default.
                if !unpack.contains("fn dequant_piece") {
                    out.push_str(include_str!("../../../shaders/piece_default.wgsl"));
                }
                continue;
            }
            other => return Err(fail(format!("unknown include {other:?}"))),
        };
        out.push_str(&format!("// ---- {} ----\n", part.trim()));
        out.push_str(text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_fills_every_include() {
        let s = compose(Kernel::MatVec, Some(DType::Q4_0), Variant::default()).unwrap();
        assert!(!s.contains("//#include"));
        assert!(s.contains("const BLOCK_BYTES: u32 = 18u;"));
        assert_eq!(
            s.matches("fn dequant_piece").count(),
            1,
            "own piece function only"
        );
        let q5 = compose(Kernel::MatVec, Some(DType::Q5_0), Variant::default()).unwrap();
        assert_eq!(
            q5.matches("fn dequant_piece").count(),
            1,
            "default piece function"
        );
        assert!(s.contains("fn half_to_f32"));
        assert!(!s.contains("subgroupAdd"));
        let v = Variant {
            f16: true,
            subgroup: true,
        };
        let s = compose(Kernel::MatVec, Some(DType::Q6K), v).unwrap();
        assert!(s.starts_with("enable f16;"));
        assert!(s.contains("const BLOCK_BYTES: u32 = 210u;"));
        let norm = compose(Kernel::Norm, None, v).unwrap();
        assert!(norm.contains("subgroupAdd"));
        let plain = compose(Kernel::Norm, None, Variant::default()).unwrap();
        assert!(!plain.contains("subgroupAdd") && plain.contains("reduce_scratch"));
        let attention = compose(Kernel::Attention, None, v).unwrap();
        assert!(attention.contains("array<f16>"));
        let attention = compose(Kernel::Attention, None, Variant::default()).unwrap();
        assert!(!attention.contains("array<f16>") && attention.contains("kc: array<u32>"));
    }

    #[test]
    fn compose_refuses_missing_dtype() {
        assert!(compose(Kernel::MatVec, None, Variant::default()).is_err());
        assert!(compose(Kernel::MatVec, Some(DType::I32), Variant::default()).is_err());
    }
}
