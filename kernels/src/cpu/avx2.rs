//! AVX2 + FMA + F16C kernels: int8 dots through `vpmaddubsw` + `vpmaddwd`.

use std::arch::x86_64::*;

/// Sums four adjacent signed-byte products per i32 lane. `maddubs` wants one unsigned
/// operand, so `|x|` is paired with `y` carrying `x`'s sign; no pair sum can saturate
/// because activations stay within ±127.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_i8(x: __m256i, y: __m256i) -> __m256i {
    let ax = _mm256_sign_epi8(x, x);
    let sy = _mm256_sign_epi8(y, x);
    _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1))
}

super::x86_kernels::x86_dot_kernels!("avx2,fma,f16c", dot_i8);
