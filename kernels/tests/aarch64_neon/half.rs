//! The part of the `half` crate that `layout.rs` and `scalar.rs` use, for the aarch64
//! harness (`harness.rs`), built as a crate named `half` so their `half::` paths resolve.

/// IEEE binary16, as bits.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
pub struct f16(pub u16);

impl f16 {
    pub fn from_le_bytes(b: [u8; 2]) -> f16 {
        f16(u16::from_le_bytes(b))
    }

    /// Exact widening: every f16 is an f32.
    pub fn to_f32(self) -> f32 {
        let sign = u32::from(self.0 >> 15) << 31;
        let exp = u32::from((self.0 >> 10) & 0x1F);
        let man = u32::from(self.0 & 0x3FF);
        let bits = match (exp, man) {
            (0, 0) => sign,
            (0, _) => {
                let v = man as f32 * f32::powi(2.0, -24);
                return if sign != 0 { -v } else { v };
            }
            (31, 0) => sign | 0x7F80_0000,
            (31, _) => sign | 0x7FC0_0000,
            _ => sign | ((exp + 112) << 23) | (man << 13),
        };
        f32::from_bits(bits)
    }
}

/// bfloat16, as bits.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
pub struct bf16(pub u16);

impl bf16 {
    pub fn from_le_bytes(b: [u8; 2]) -> bf16 {
        bf16(u16::from_le_bytes(b))
    }

    pub fn to_f32(self) -> f32 {
        f32::from_bits(u32::from(self.0) << 16)
    }
}

/// The slice conversion `neon/float.rs` widens the KV cache with.
pub mod slice {
    /// `half`'s trait of the same name, reduced to the one method used.
    pub trait HalfFloatSliceExt {
        fn convert_to_f32_slice(&self, dst: &mut [f32]);
    }

    impl HalfFloatSliceExt for [super::f16] {
        fn convert_to_f32_slice(&self, dst: &mut [f32]) {
            assert_eq!(self.len(), dst.len(), "slices of equal length");
            for (d, s) in dst.iter_mut().zip(self) {
                *d = s.to_f32();
            }
        }
    }
}
