//! AVX2 + FMA + F16C kernels: int8 dots through `vpmaddubsw` + `vpmaddwd`.

use std::arch::x86_64::*;

/// Sums four adjacent unsigned·signed byte products per i32 lane: `maddubs` to i16 pairs
/// (no saturation: callers pass `|x| ≤ 128` against activations within ±127), then
/// `madd` with ones.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
}

/// `acc + madd(pairs, scales)`: i16 pairs times i16 scales, summed per i32 lane.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn madd_acc(acc: __m256i, pairs: __m256i, scales: __m256i) -> __m256i {
    _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, scales))
}

super::x86_kernels::x86_dot_kernels!("avx2,fma,f16c", dot_u8_i8, madd_acc);

crate::cpu::attention::attend_group_impl!(attend_group, dot_f32, axpy, f16_to_f32, "avx2,fma,f16c");
