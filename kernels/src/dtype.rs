//! The element and block types edgeplane stores tensors in, numbered as ggml numbers them.

use std::fmt;

/// A tensor element type. Quantized types are ggml block formats, bit-identical to ggml's
/// layout; the discriminant is ggml's `ggml_type` number, which is also what GGUF stores.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[repr(u32)]
pub enum DType {
    /// 32-bit IEEE float.
    F32 = 0,
    /// 16-bit IEEE float.
    F16 = 1,
    /// 32 weights: f16 scale, 4-bit quants, offset 8.
    Q4_0 = 2,
    /// 32 weights: f16 scale and min, 4-bit quants.
    Q4_1 = 3,
    /// 32 weights: f16 scale, 5-bit quants, offset 16.
    Q5_0 = 6,
    /// 32 weights: f16 scale and min, 5-bit quants.
    Q5_1 = 7,
    /// 32 weights: f16 scale, 8-bit signed quants.
    Q8_0 = 8,
    /// 256-weight super-block, 16 sub-blocks with 4-bit scales and mins, 2-bit quants.
    Q2K = 10,
    /// 256-weight super-block, 16 sub-blocks with 6-bit scales, 3-bit quants.
    Q3K = 11,
    /// 256-weight super-block, 8 sub-blocks with 6-bit scales and mins, 4-bit quants.
    Q4K = 12,
    /// 256-weight super-block, 8 sub-blocks with 6-bit scales and mins, 5-bit quants.
    Q5K = 13,
    /// 256-weight super-block, 16 sub-blocks with 8-bit scales, 6-bit quants.
    Q6K = 14,
    /// 256 weights, f32 scale, 8-bit quants and per-16 sums; ggml's activation format for
    /// K-quant dot products. Not a storage format for weights.
    Q8K = 15,
    /// 32-bit signed integer (token ids, positions).
    I32 = 26,
    /// bfloat16.
    BF16 = 30,
}

impl DType {
    /// Every dtype, in ggml order.
    pub const ALL: [DType; 15] = [
        DType::F32,
        DType::F16,
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q8_0,
        DType::Q2K,
        DType::Q3K,
        DType::Q4K,
        DType::Q5K,
        DType::Q6K,
        DType::Q8K,
        DType::I32,
        DType::BF16,
    ];

    /// The dtypes a weight matrix may be stored in (every float and quantized storage type).
    pub const WEIGHTS: [DType; 13] = [
        DType::F32,
        DType::F16,
        DType::BF16,
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q8_0,
        DType::Q2K,
        DType::Q3K,
        DType::Q4K,
        DType::Q5K,
        DType::Q6K,
    ];

    /// ggml's type number.
    pub fn ggml_type(self) -> u32 {
        self as u32
    }

    /// The dtype for ggml's type number, or `None` for types edgeplane does not handle.
    pub fn from_ggml_type(id: u32) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.ggml_type() == id)
    }

    /// ggml's lower-case name (`"q4_K"`, `"f16"`), as llama.cpp prints it.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::Q4_0 => "q4_0",
            DType::Q4_1 => "q4_1",
            DType::Q5_0 => "q5_0",
            DType::Q5_1 => "q5_1",
            DType::Q8_0 => "q8_0",
            DType::Q2K => "q2_K",
            DType::Q3K => "q3_K",
            DType::Q4K => "q4_K",
            DType::Q5K => "q5_K",
            DType::Q6K => "q6_K",
            DType::Q8K => "q8_K",
            DType::I32 => "i32",
            DType::BF16 => "bf16",
        }
    }

    /// Parses ggml's name, case-insensitively.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(name))
    }

    /// Elements per block (1 for plain types).
    pub const fn block_size(self) -> usize {
        match self {
            DType::F32 | DType::F16 | DType::BF16 | DType::I32 => 1,
            DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::Q8_0 => 32,
            DType::Q2K | DType::Q3K | DType::Q4K | DType::Q5K | DType::Q6K | DType::Q8K => 256,
        }
    }

    /// Bytes per block.
    pub const fn block_bytes(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 => 2,
            DType::Q4_0 => 18,
            DType::Q4_1 => 20,
            DType::Q5_0 => 22,
            DType::Q5_1 => 24,
            DType::Q8_0 => 34,
            DType::Q2K => 84,
            DType::Q3K => 110,
            DType::Q4K => 144,
            DType::Q5K => 176,
            DType::Q6K => 210,
            DType::Q8K => 292,
        }
    }

    /// True for ggml block formats.
    pub fn is_quantized(self) -> bool {
        self.block_size() > 1
    }

    /// True for F32, F16 and BF16.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16)
    }

    /// Byte offsets of the f16 fields in one block (`d`, and `dmin` / `m` where the format
    /// has one; ggml's layouts). Every other byte is code bits, valid whatever they are, so
    /// random blocks with small values here are valid weights. Empty for the other dtypes.
    pub fn f16_fields(self) -> &'static [usize] {
        match self {
            DType::Q4_0 | DType::Q5_0 | DType::Q8_0 => &[0],
            DType::Q4_1 | DType::Q5_1 | DType::Q4K | DType::Q5K => &[0, 2],
            DType::Q2K => &[80, 82],
            DType::Q3K => &[108],
            DType::Q6K => &[208],
            _ => &[],
        }
    }

    /// Bytes taken by `elements` values, or `None` if `elements` is not a whole number of
    /// blocks or the size overflows.
    pub fn bytes_for(self, elements: u64) -> Option<u64> {
        let block = self.block_size() as u64;
        if !elements.is_multiple_of(block) {
            return None;
        }
        (elements / block).checked_mul(self.block_bytes() as u64)
    }

    /// Bits per weight, including scales (4.5 for Q4_0).
    pub fn bits_per_weight(self) -> f64 {
        self.block_bytes() as f64 * 8.0 / self.block_size() as f64
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ggml_numbers_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_ggml_type(d.ggml_type()), Some(d));
            assert_eq!(DType::from_name(d.name()), Some(d));
        }
        assert_eq!(DType::from_ggml_type(4), None, "Q4_2 was removed from ggml");
    }

    #[test]
    fn sizes_match_ggml() {
        // ggml.c's type_traits table: blck_size and type_size.
        assert_eq!(
            (DType::Q4_0.block_size(), DType::Q4_0.block_bytes()),
            (32, 18)
        );
        assert_eq!(
            (DType::Q4K.block_size(), DType::Q4K.block_bytes()),
            (256, 144)
        );
        assert_eq!(
            (DType::Q6K.block_size(), DType::Q6K.block_bytes()),
            (256, 210)
        );
        assert_eq!(DType::Q4_0.bytes_for(64), Some(36));
        assert_eq!(DType::Q4_0.bytes_for(33), None);
        assert_eq!(DType::Q4_0.bits_per_weight(), 4.5);
    }
}
