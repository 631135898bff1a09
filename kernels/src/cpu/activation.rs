//! Activations quantized on the fly to 8-bit blocks, so weight·activation dots run on
//! integer lanes as in ggml: Q8_0-style blocks of 32 for the 32-wide formats, Q8_K-style
//! super-blocks of 256 with per-16 sums for the K-quants.
//!
//! The layout is ours, not ggml's: scales are kept as f32 values (Q8_0 scales rounded to f16
//! as ggml stores them, so our dot products match ggml's and a model's logits match
//! llama.cpp's) and scales, quants and sums live in separate arrays so SIMD loads are
//! aligned to the quants. Nothing outside this crate stores these blocks.

use crate::DType;
use std::sync::{Mutex, OnceLock, PoisonError};

/// What the activations of a matmul are converted to before the dot products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationFormat {
    /// Plain f32 (float weights, and the formats that go through dequantize-then-dot).
    F32,
    /// 32-value blocks: one f32 scale and 32 i8 quants.
    Q8Block32,
    /// 256-value blocks: one f32 scale, 256 i8 quants and 16 sums of 16 quants.
    Q8Block256,
}

impl ActivationFormat {
    /// The format the dot kernel for `weight` wants.
    pub fn for_weight(weight: DType) -> ActivationFormat {
        match weight {
            DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::Q8_0 => {
                ActivationFormat::Q8Block32
            }
            DType::Q2K | DType::Q3K | DType::Q4K | DType::Q5K | DType::Q6K => {
                ActivationFormat::Q8Block256
            }
            _ => ActivationFormat::F32,
        }
    }

    /// Values per group sum (see [`ActivationRow::group_sums`]; 1 for f32, unused).
    pub fn group(self) -> usize {
        match self {
            ActivationFormat::F32 => 1,
            ActivationFormat::Q8Block32 => 32,
            ActivationFormat::Q8Block256 => 16,
        }
    }

    /// Values per scale (1 for f32).
    pub fn block_size(self) -> usize {
        match self {
            ActivationFormat::F32 => 1,
            ActivationFormat::Q8Block32 => 32,
            ActivationFormat::Q8Block256 => 256,
        }
    }
}

/// One activation row in the format its dot kernel reads.
#[derive(Clone, Copy, Debug)]
pub struct ActivationRow<'a> {
    /// The format.
    pub format: ActivationFormat,
    /// f32 values (only for [`ActivationFormat::F32`]).
    pub floats: &'a [f32],
    /// One scale per block.
    pub scales: &'a [f32],
    /// The quants, `k` of them.
    pub quants: &'a [i8],
    /// Sums of the quants of each group (16 values for 256-blocks, 32 for 32-blocks).
    pub sums: &'a [i16],
    /// `scale · Σ quants` per group (16 values for 256-blocks, 32 for 32-blocks): what the
    /// packed kernels dot with a weight row's offsets.
    pub group_sums: &'a [f32],
}

/// `rows` activation rows of `k` values, converted once per matmul and shared by every
/// thread.
#[derive(Debug)]
pub struct ActivationRows {
    format: ActivationFormat,
    k: usize,
    rows: usize,
    floats: Vec<f32>,
    scales: Vec<f32>,
    quants: Vec<i8>,
    sums: Vec<i16>,
    group_sums: Vec<f32>,
    /// The quants as `q + 128` (u8), made by the first kernel that asks
    /// ([`ActivationRows::offset_quants`]) and shared by every thread after it.
    offset_quants: OnceLock<Vec<u8>>,
    /// The previous conversion's `offset_quants` buffer, which the next one refills (so
    /// converting again allocates nothing).
    offset_spare: Mutex<Vec<u8>>,
}

impl ActivationRows {
    /// Converts `x` (`rows × k`, row-major) to `format`. `k` must be a multiple of the
    /// format's block size and `x.len()` a multiple of `k`; the caller (the matmul) checks
    /// shapes before, so a mismatch here is a bug and panics.
    pub fn new(format: ActivationFormat, x: &[f32], k: usize) -> ActivationRows {
        ActivationRows::padded(format, x, k, k)
    }

    /// [`ActivationRows::new`] of `x` (`rows × k`) with each row extended by zeros to
    /// `width` values: what weights whose tiles pad `k` to whole tiles read (the zero
    /// blocks quantize to scale 0, quants 0 and sums 0, so they add nothing).
    pub fn padded(format: ActivationFormat, x: &[f32], k: usize, width: usize) -> ActivationRows {
        assert!(k > 0 && x.len().is_multiple_of(k), "whole rows of {k}");
        let mut out = ActivationRows::empty(format);
        let rows = x.len() / k;
        for mut part in out.parts(format, rows, width, rows.max(1)) {
            part.fill(x, k);
        }
        out
    }

    /// No rows: a buffer for [`ActivationRows::parts`] to size and its parts to fill,
    /// kept by a caller that converts activations again and again (the fast backend's
    /// executables keep one, so a run allocates nothing for them after the first).
    pub fn empty(format: ActivationFormat) -> ActivationRows {
        ActivationRows {
            format,
            k: 0,
            rows: 0,
            floats: Vec::new(),
            scales: Vec::new(),
            quants: Vec::new(),
            sums: Vec::new(),
            group_sums: Vec::new(),
            offset_quants: OnceLock::new(),
            offset_spare: Mutex::new(Vec::new()),
        }
    }

    /// Sizes the buffers for `rows` rows of `width` values in `format`, keeping their
    /// allocations, and splits them into parts of `rows_per_part` rows (the last may be
    /// shorter), each to be filled by [`ActivationPart::fill`], in parallel if the caller
    /// likes. Until every part is filled the rows hold stale values. `width` must be a
    /// multiple of the format's block size.
    pub fn parts(
        &mut self,
        format: ActivationFormat,
        rows: usize,
        width: usize,
        rows_per_part: usize,
    ) -> Vec<ActivationPart<'_>> {
        let block = format.block_size();
        assert!(
            width > 0 && width.is_multiple_of(block) && rows_per_part > 0,
            "activation rows of {width} must be whole {block}-blocks (shape checked by the graph)"
        );
        let group = format.group();
        self.format = format;
        self.k = width;
        self.rows = rows;
        if let Some(used) = self.offset_quants.take() {
            *self
                .offset_spare
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner) = used;
        }
        // Values per row of the 8-bit formats' buffers and of the floats: one is `width`,
        // the other 0 (that format's buffers stay empty).
        let q = if format == ActivationFormat::F32 {
            0
        } else {
            width
        };
        let f = width - q;
        self.floats.resize(rows * f, 0.0);
        self.scales.resize(rows * q / block, 0.0);
        self.quants.resize(rows * q, 0);
        self.sums.resize(rows * q / group, 0);
        self.group_sums.resize(rows * q / group, 0.0);
        // Each buffer in chunks of `rows` rows of `per_row` values (an empty buffer gives
        // none, and its parts get empty slices).
        fn split<T>(v: &mut [T], per_row: usize, rows: usize) -> std::vec::IntoIter<&mut [T]> {
            if per_row == 0 {
                return Vec::new().into_iter();
            }
            v.chunks_mut(per_row * rows).collect::<Vec<_>>().into_iter()
        }
        let per = rows_per_part;
        let mut floats = split(&mut self.floats, f, per);
        let mut scales = split(&mut self.scales, q / block, per);
        let mut quants = split(&mut self.quants, q, per);
        let mut sums = split(&mut self.sums, q / group, per);
        let mut group_sums = split(&mut self.group_sums, q / group, per);
        (0..rows.div_ceil(per))
            .map(|p| ActivationPart {
                format,
                width,
                rows: per.min(rows - p * per),
                floats: floats.next().unwrap_or_default(),
                scales: scales.next().unwrap_or_default(),
                quants: quants.next().unwrap_or_default(),
                sums: sums.next().unwrap_or_default(),
                group_sums: group_sums.next().unwrap_or_default(),
            })
            .collect()
    }

    /// The format.
    pub fn format(&self) -> ActivationFormat {
        self.format
    }

    /// Values per row.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Every row's quants plus 128, as u8 (`rows × k`): the unsigned side of `vpmaddubsw`
    /// for weights whose codes are the signed side (the AVX2 Q6_K batch kernel). Made on
    /// the first call after the rows are converted, once for all threads.
    pub fn offset_quants(&self) -> &[u8] {
        self.offset_quants.get_or_init(|| {
            let spare = self.offset_spare.lock();
            let mut out = std::mem::take(&mut *spare.unwrap_or_else(PoisonError::into_inner));
            out.clear();
            out.extend(self.quants.iter().map(|&q| (q as u8) ^ 0x80));
            out
        })
    }

    /// Row `i` (panics when out of range: an internal indexing bug).
    pub fn row(&self, i: usize) -> ActivationRow<'_> {
        let k = self.k;
        let per_row_scales = k / self.format.block_size();
        ActivationRow {
            format: self.format,
            floats: if self.floats.is_empty() {
                &[]
            } else {
                &self.floats[i * k..(i + 1) * k]
            },
            scales: if self.scales.is_empty() {
                &[]
            } else {
                &self.scales[i * per_row_scales..(i + 1) * per_row_scales]
            },
            quants: if self.quants.is_empty() {
                &[]
            } else {
                &self.quants[i * k..(i + 1) * k]
            },
            sums: if self.sums.is_empty() {
                &[]
            } else {
                let g = self.format.group();
                &self.sums[i * k / g..(i + 1) * k / g]
            },
            group_sums: if self.group_sums.is_empty() {
                &[]
            } else {
                let g = self.format.group();
                &self.group_sums[i * k / g..(i + 1) * k / g]
            },
        }
    }
}

/// No rows, in f32: what [`ActivationRows::parts`] refills whatever the format.
impl Default for ActivationRows {
    fn default() -> ActivationRows {
        ActivationRows::empty(ActivationFormat::F32)
    }
}

/// Some consecutive rows of an [`ActivationRows`] being filled (see
/// [`ActivationRows::parts`]): disjoint slices of its buffers, so parts fill in parallel.
#[derive(Debug)]
pub struct ActivationPart<'a> {
    format: ActivationFormat,
    width: usize,
    rows: usize,
    floats: &'a mut [f32],
    scales: &'a mut [f32],
    quants: &'a mut [i8],
    sums: &'a mut [i16],
    group_sums: &'a mut [f32],
}

impl ActivationPart<'_> {
    /// Rows in this part.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Converts this part's rows from `x` (`rows × k`, `k ≤ width`, a multiple of the
    /// block size), each extended by zeros to the width: every value of the part is
    /// written, so stale contents do not matter.
    pub fn fill(&mut self, x: &[f32], k: usize) {
        let (format, width) = (self.format, self.width);
        assert!(
            k <= width && k.is_multiple_of(format.block_size()) && x.len() == self.rows * k,
            "{} rows of {k} values (≤ {width}, whole blocks)",
            self.rows
        );
        if format == ActivationFormat::F32 {
            for (dst, src) in self.floats.chunks_exact_mut(width).zip(x.chunks_exact(k)) {
                dst[..k].copy_from_slice(src);
                dst[k..].fill(0.0);
            }
            return;
        }
        let (block, group) = (format.block_size(), format.group());
        let blocks = width / block;
        for (r, src) in x.chunks_exact(k).enumerate() {
            let quants = &mut self.quants[r * width..(r + 1) * width];
            let scales = &mut self.scales[r * blocks..(r + 1) * blocks];
            for (b, (q, scale)) in quants
                .chunks_exact_mut(block)
                .zip(scales.iter_mut())
                .enumerate()
            {
                *scale = match src.get(b * block..(b + 1) * block) {
                    Some(values) => quantize_block(values, q),
                    // Padding past `k`: a zero block (scale 0, quants 0, sums 0).
                    None => {
                        q.fill(0);
                        0.0
                    }
                };
                if format == ActivationFormat::Q8Block32 {
                    // ggml stores Q8_0 activation scales as f16; rounding ours the same way
                    // makes our dot products equal ggml's, not just close to them.
                    *scale = half::f16::from_f32(*scale).to_f32();
                }
            }
            // Integer and scaled per-group sums: the K-quant kernels' mins and the tiles'
            // code bias take the first, the packed GEMM's offsets the second.
            let groups = width / group;
            let sums = &mut self.sums[r * groups..(r + 1) * groups];
            let group_sums = &mut self.group_sums[r * groups..(r + 1) * groups];
            for (g, (sum, scaled)) in sums.iter_mut().zip(group_sums.iter_mut()).enumerate() {
                *sum = quants[g * group..(g + 1) * group]
                    .iter()
                    .map(|&v| i16::from(v))
                    .sum();
                *scaled = scales[g * group / block] * f32::from(*sum);
            }
        }
    }
}

/// Symmetric 8-bit quantization of one block, with ggml's arithmetic so our quants equal
/// its `block_q8_0`/`block_q8_K` bit for bit: the multiplier is `127 / amax` (not the
/// reciprocal of the scale, which can differ by an ulp), products round half to even
/// (ggml's `_mm256_round_ps` and `nearest_int`), and the returned scale is `amax / 127`
/// for 32-blocks and `1 / (127 / amax)` for 256-blocks, as each ggml format stores it.
/// Quantizes one block (ggml's arithmetic: `127 / amax`, round half to even; a 256-block's
/// scale is `1 / inv` like Q8_K's, a 32-block's `amax / 127` like Q8_0's) and returns its
/// scale; NaN anywhere gives a NaN scale. The AVX2 copy is the same code compiled for AVX2
/// so the loops vectorize: scalar, this was 14 µs of a 4096-wide decode step.
fn quantize_block(src: &[f32], q: &mut [i8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was just detected on this CPU.
        return unsafe { quantize_block_avx2(src, q) };
    }
    quantize_block_portable(src, q)
}

/// [`quantize_block_portable`] in AVX2: the same arithmetic (NaN check, max of `|v|`,
/// `v · 127/amax` rounded half to even, clamped), eight values at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn quantize_block_avx2(src: &[f32], q: &mut [i8]) -> f32 {
    use std::arch::x86_64::*;
    debug_assert!(src.len().is_multiple_of(8) && q.len() == src.len());
    let sign = _mm256_set1_ps(-0.0);
    let mut max = _mm256_setzero_ps();
    let mut nan = _mm256_setzero_ps();
    for c in src.chunks_exact(8) {
        // SAFETY: `c` holds exactly eight readable f32; loadu has no alignment need.
        let v = unsafe { _mm256_loadu_ps(c.as_ptr()) };
        max = _mm256_max_ps(max, _mm256_andnot_ps(sign, v));
        nan = _mm256_or_ps(nan, _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
    }
    let half = _mm_max_ps(_mm256_castps256_ps128(max), _mm256_extractf128_ps::<1>(max));
    let half = _mm_max_ps(half, _mm_movehl_ps(half, half));
    let amax = _mm_cvtss_f32(_mm_max_ss(half, _mm_movehdup_ps(half)));
    let has_nan = _mm256_movemask_ps(nan) != 0;
    if has_nan || amax == 0.0 || !amax.is_finite() {
        q.fill(0);
        return if amax == 0.0 && !has_nan {
            0.0
        } else {
            f32::NAN
        };
    }
    let inv = 127.0 / amax;
    let (lo, hi) = (_mm256_set1_ps(-127.0), _mm256_set1_ps(127.0));
    for (c, o) in src.chunks_exact(8).zip(q.chunks_exact_mut(8)) {
        // SAFETY: `c` holds exactly eight readable f32.
        let v = _mm256_mul_ps(unsafe { _mm256_loadu_ps(c.as_ptr()) }, _mm256_set1_ps(inv));
        let r = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
        let i = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, lo), hi));
        let w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256::<1>(i));
        // SAFETY: `o` holds exactly eight writable bytes, the low half of the packed vector.
        unsafe { _mm_storel_epi64(o.as_mut_ptr().cast(), _mm_packs_epi16(w, w)) };
    }
    if src.len() == 256 {
        1.0 / inv
    } else {
        amax / 127.0
    }
}

#[inline(always)]
fn quantize_block_portable(src: &[f32], q: &mut [i8]) -> f32 {
    // Eight lanes of branch-free max so the loop vectorizes (a fold over one float would
    // stay scalar); `a > m` keeps `m` on NaN, the separate check restores NaN propagation.
    // Blocks are 32 or 256 values, whole multiples of the lane count.
    let mut lanes = [0.0f32; 8];
    let mut has_nan = false;
    for c in src.chunks_exact(8) {
        for (m, v) in lanes.iter_mut().zip(c) {
            if v.abs() > *m {
                *m = v.abs();
            }
            has_nan |= v.is_nan();
        }
    }
    let amax = lanes.iter().fold(0.0f32, |m, &v| m.max(v));
    if has_nan || amax == 0.0 || !amax.is_finite() {
        q.fill(0);
        return if amax == 0.0 && !has_nan {
            0.0
        } else {
            f32::NAN
        };
    }
    let inv = 127.0 / amax;
    for (o, v) in q.iter_mut().zip(src) {
        // In range after the clamp, so the plain i32 conversion vectorizes and is exact.
        *o = round_half_even(v * inv).clamp(-127.0, 127.0) as i32 as i8;
    }
    if src.len() == 256 {
        1.0 / inv
    } else {
        amax / 127.0
    }
}

#[inline(always)]
fn round_half_even(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (v + MAGIC) - MAGIC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_block_quantizer_equals_the_portable_one() {
        // Exact ties (k + 0.5 after scaling), zeros, NaN and infinity included.
        let mut blocks: Vec<Vec<f32>> = (0..64u32)
            .map(|s| {
                let n = if s % 2 == 0 { 32 } else { 256 };
                (0..n)
                    .map(|i| (((i as u32 * 2654435761) ^ (s * 40503)) % 2001) as f32 / 1000.0 - 1.0)
                    .collect()
            })
            .collect();
        blocks.push((0..32).map(|i| i as f32 - 15.5).collect());
        blocks.push(vec![0.0; 32]);
        let mut with_nan = vec![1.0f32; 256];
        with_nan[77] = f32::NAN;
        blocks.push(with_nan);
        let mut with_inf = vec![1.0f32; 32];
        with_inf[3] = f32::NEG_INFINITY;
        blocks.push(with_inf);
        for b in &blocks {
            let (mut q0, mut q1) = (vec![0i8; b.len()], vec![0i8; b.len()]);
            let s0 = quantize_block_portable(b, &mut q0);
            let s1 = quantize_block(b, &mut q1);
            assert_eq!(q0, q1);
            assert!(s0 == s1 || (s0.is_nan() && s1.is_nan()), "{s0} vs {s1}");
        }
    }

    #[test]
    fn round_half_even_matches_std() {
        for i in -1000..1000 {
            let v = i as f32 * 0.25 + 0.001 * (i % 7) as f32;
            assert_eq!(round_half_even(v), v.round_ties_even(), "{v}");
        }
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(-3.5), -4.0);
    }

    #[test]
    fn quantized_rows_reconstruct_within_half_a_step() {
        let x: Vec<f32> = (0..512)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        for format in [ActivationFormat::Q8Block32, ActivationFormat::Q8Block256] {
            let rows = ActivationRows::new(format, &x, 256);
            assert_eq!(rows.rows(), 2);
            for r in 0..2 {
                let row = rows.row(r);
                let b = format.block_size();
                for (i, &q) in row.quants.iter().enumerate() {
                    let scale = row.scales[i / b];
                    let back = f32::from(q) * scale;
                    // Q8_0 scales are f16-rounded after quantizing (as ggml does), which
                    // moves each value by at most |q| * scale * 2^-11 on top of the half step.
                    let scale_rounding = if format == ActivationFormat::Q8Block32 {
                        127.0 * scale / 2048.0
                    } else {
                        0.0
                    };
                    let err = (back - x[r * 256 + i]).abs();
                    assert!(
                        err <= scale * 0.5 + scale_rounding + 1e-6,
                        "{format:?} {i}: {err}"
                    );
                }
                let g = format.group();
                let s: i32 = row.quants[g..2 * g].iter().map(|&v| i32::from(v)).sum();
                assert_eq!(i32::from(row.sums[1]), s, "{format:?} group sum");
            }
        }
    }

    /// A buffer refilled with fewer, narrower or padded rows in another format holds
    /// exactly what a fresh conversion does: every value of every part is written.
    #[test]
    fn a_refilled_buffer_equals_a_fresh_conversion() {
        let wide: Vec<f32> = (0..5 * 1024)
            .map(|i| ((i * 7919) % 255) as f32 - 100.0)
            .collect();
        let narrow: Vec<f32> = (0..3 * 224)
            .map(|i| ((i * 104729) % 97) as f32 / 9.0 - 5.0)
            .collect();
        let fields = |a: &ActivationRows| {
            (
                a.rows,
                a.k,
                a.floats.clone(),
                a.scales.clone(),
                a.quants.clone(),
            )
        };
        for (first, then) in [
            (ActivationFormat::Q8Block32, ActivationFormat::Q8Block32),
            (ActivationFormat::Q8Block256, ActivationFormat::Q8Block32),
            (ActivationFormat::F32, ActivationFormat::Q8Block32),
            (ActivationFormat::Q8Block32, ActivationFormat::F32),
            (ActivationFormat::F32, ActivationFormat::F32),
        ] {
            let mut reused = ActivationRows::padded(first, &wide, 1024, 1024);
            for (rows_per_part, mut part) in [2, 1].into_iter().zip(reused.parts(then, 3, 256, 2)) {
                let rows = part.rows();
                assert_eq!(rows, rows_per_part, "parts of two rows, the last shorter");
                let start = if rows == 2 { 0 } else { 2 };
                part.fill(&narrow[start * 224..(start + rows) * 224], 224);
            }
            let fresh = ActivationRows::padded(then, &narrow, 224, 256);
            assert_eq!(fields(&reused), fields(&fresh), "{first:?} then {then:?}");
            assert_eq!(reused.sums, fresh.sums, "{first:?} then {then:?}: sums");
            assert_eq!(
                reused.group_sums, fresh.group_sums,
                "{first:?} then {then:?}"
            );
        }
    }

    /// The offset quants are `q + 128` of the current conversion, also when a converted
    /// buffer is converted again (their buffer is then reused, not the old values).
    #[test]
    fn offset_quants_follow_each_conversion() {
        let x: Vec<f32> = (0..2 * 512).map(|i| (i % 97) as f32 - 48.0).collect();
        let y: Vec<f32> = (0..3 * 512).map(|i| 30.0 - (i % 61) as f32).collect();
        let mut acts = ActivationRows::new(ActivationFormat::Q8Block256, &x, 512);
        for input in [&x, &y, &x] {
            let rows = input.len() / 512;
            for mut part in acts.parts(ActivationFormat::Q8Block256, rows, 512, rows) {
                part.fill(input, 512);
            }
            let want: Vec<u8> = acts
                .quants
                .iter()
                .map(|&q| (i16::from(q) + 128) as u8)
                .collect();
            assert_eq!(want.len(), rows * 512);
            assert_eq!(acts.offset_quants(), want.as_slice());
            assert!(
                acts.quants.iter().any(|&q| q < -64) && acts.quants.iter().any(|&q| q > 64),
                "both signs far from zero"
            );
        }
    }
}
