//! Weights repacked at load with rows interleaved (ggml's `q4_K_8x8`, candle's x86 tiles):
//! sixteen weight rows' codes for the same four input values sit side by side, so one
//! 512-bit `vpdpbusd` against a broadcast of four activation values advances sixteen dot
//! products at once and no horizontal sums are needed. The row-at-a-time kernels spend
//! most of their instructions on per-row reductions and per-sub-block scale shuffles;
//! here scales are applied to sixteen rows with one multiply.
//!
//! Every quantized format, for whole tiles of 16 rows and 256 values: Q4_K ([`q4_k`]),
//! Q6_K ([`q6_k`]), Q4_0 ([`q4_0`]) and Q8_0 ([`q8_0`]; eight blocks per tile) first, then
//! (2026-12-02) Q5_K ([`q5_k`], Q4_K's layout and kernels plus fifth-bit masks), Q4_1,
//! Q5_0 and Q5_1 ([`nibble32`], Q4_0's layout and kernels plus mins and/or fifth-bit
//! masks) and Q2_K/Q3_K ([`plane2`], 2-bit planes). All keep integer scales or the raw f16
//! ones and about the raw bytes (Q4_K +5.6 %, Q5_K +4.5 %, Q3_K +5.5 %, Q6_K +1 %, the rest
//! +0 %), so decode reads about what the raw blocks would.
//! Tiles are 64-byte aligned (their sizes are whole cache lines), so no load splits a line,
//! and each is laid out in the order its kernel reads it, one stream front to back.
//!
//! The kernels ask for the lines `PREFETCH_AHEAD` (`x86_kernels.rs`) bytes ahead
//! into L2 (`_MM_HINT_T1`), not L1: from DRAM (the bench's cold decode, Zen 4 VM, four
//! alternating runs) that streamed 18–22 GB/s median against 15–17 with `T0`, which ties
//! up L1's few miss buffers on lines the hardware would fetch to L2 anyway.
//!
//! Where they serve, on AVX-512 VNNI: every activation count. Measured against the row
//! kernels on the raw blocks (2 threads, Zen 4 VM): at n = 1 Q4_0 1.5–1.9×, Q4_K 1.2–1.8×
//! and Q6_K 1.8–2.4× from L2/L3 and level from DRAM (0.86–1.17×, both memory-bound), Q8_0
//! level; from n = 16 2.4–4.3× for every format. On AVX2 ([`avx2`]) at every n too: n = 1
//! 1.25–1.8× from L2/L3 (level from DRAM), n = 2 1.15–1.25×, n = 16–128 2.0–2.7×.
//! With AVX-VNNI ([`vnni256`]: `vpdpbusd` on 256-bit lanes) n = 16–128 run another
//! 1.5–1.9× faster than on AVX2 (measured through the EVEX encoding on the Zen 4 VM).
//! On NEON with the dot product (`neon.rs`) the same tiles run through `sdot` by element,
//! every format, every n (unmeasured: no Arm hardware here).
//! (Comparing the two paths on one matrix alternately makes them evict each other's
//! bytes from L3; the n = 1 figures are from matrices small enough to stay cached.)

/// The [`Tile`] methods of a tile whose spec and kernels are its family's generics:
/// `family_kernels!(Tile, FamilyTrait, avx512_module::kernel, avx2::kernel,
/// vnni256::kernel)` in its `impl Tile`.
macro_rules! family_kernels {
    (
        $tile:ty,
        $family:ident,
        $m512:ident :: $f512:ident,
        avx2 :: $f2:ident,
        vnni256 :: $fv:ident,
        neon :: $fn:ident
    ) => {
        fn dot_scalar(tiles: &[$tile], a: &ActivationRow) -> [f32; TILE_ROWS] {
            <$tile as $family>::spec(tiles, a)
        }

        #[cfg(target_arch = "x86_64")]
        unsafe fn dot_avx512<const R: usize>(
            tiles: &[$tile],
            acts: [&ActivationRow; R],
        ) -> [[f32; TILE_ROWS]; R] {
            // SAFETY: the caller guarantees AVX-512 VNNI (the trait's contract).
            unsafe { super::$m512::$f512::<$tile, R>(tiles, acts) }
        }

        #[cfg(target_arch = "x86_64")]
        unsafe fn dot_avx2<const R: usize>(
            tiles: &[$tile],
            acts: [&ActivationRow; R],
        ) -> [[f32; TILE_ROWS]; R] {
            // SAFETY: the caller guarantees AVX2, FMA and F16C (the trait's contract).
            unsafe { super::avx2::$f2::<$tile, R>(tiles, acts) }
        }

        #[cfg(target_arch = "x86_64")]
        unsafe fn dot_vnni256<const R: usize>(
            tiles: &[$tile],
            acts: [&ActivationRow; R],
        ) -> [[f32; TILE_ROWS]; R] {
            super::vnni256::dispatch!($fv, tiles, acts)
        }

        #[cfg(any(target_arch = "aarch64", test, edgeplane_neon_emulated))]
        unsafe fn dot_neon<const R: usize>(
            tiles: &[$tile],
            acts: [&ActivationRow; R],
        ) -> [[f32; TILE_ROWS]; R] {
            // SAFETY: the caller guarantees FEAT_DotProd (the trait's contract).
            unsafe { super::neon::$fn::<$tile, R>(tiles, acts) }
        }
    };
}
use family_kernels;

/// The [`Tile::avx2_batch`] of a tile with an AVX2 kernel over spread activations
/// ([`avx2_spread`]): `spread_kernels!();` in its `impl Tile`.
macro_rules! spread_kernels {
    () => {
        #[cfg(target_arch = "x86_64")]
        unsafe fn avx2_batch(
            m: &super::TiledMatrix<Self>,
            tiles: std::ops::Range<usize>,
            _acts: &super::ActivationRows,
            rows: &[ActivationRow],
            sink: &mut dyn FnMut(usize, usize, &[f32; TILE_ROWS]),
        ) -> bool {
            // SAFETY: the caller guarantees AVX2, FMA and F16C (the trait's contract).
            unsafe { super::avx2_spread::matmul(m, tiles, rows, sink) };
            true
        }
    };
}
use spread_kernels;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx2_spread;
#[cfg(target_arch = "x86_64")]
mod k4_avx512;
// The intrinsics were `unsafe fn`s before Rust 1.87; the blocks stay, as in `cpu::neon`.
#[cfg(any(target_arch = "aarch64", test, edgeplane_neon_emulated))]
#[allow(unused_unsafe)]
mod neon;
mod nibble32;
#[cfg(target_arch = "x86_64")]
mod nibble32_avx512;
mod plane2;
#[cfg(target_arch = "x86_64")]
mod plane2_avx2;
#[cfg(target_arch = "x86_64")]
mod plane2_avx512;
mod q4_0;
mod q4_k;
mod q5_k;
mod q6_k;
#[cfg(target_arch = "x86_64")]
mod q6_k_avx2_batch;
#[cfg(target_arch = "x86_64")]
mod q6_k_avx512;
mod q8_0;
#[cfg(target_arch = "x86_64")]
mod q8_0_avx512;
mod tile_buffer;
#[cfg(target_arch = "x86_64")]
pub(crate) mod vnni256;

pub use nibble32::{TileQ4_1, TileQ5_0, TileQ5_1};
pub use plane2::{TileQ2K, TileQ3K};
pub use q4_0::TileQ4_0;
pub use q4_k::TileQ4K;
pub use q5_k::TileQ5K;
pub use q6_k::TileQ6K;
pub use q8_0::TileQ8_0;
use tile_buffer::TileBuffer;

use super::activation::{ActivationFormat, ActivationRow, ActivationRows};
use super::matmul::WeightMatrix;
use super::simd::{Simd, SimdLevel};
use crate::DType;
use std::array::from_fn;
use std::ops::Range;

/// Rows per tile.
pub const TILE_ROWS: usize = 16;

/// Activation rows one pass over a tile serves on AVX-VNNI, and on AVX2 unless the tile
/// says otherwise ([`Tile::AVX2_GROUP`]): with 16 registers four keep the accumulators in
/// registers.
const GROUP: usize = 4;

/// The most activation rows one pass serves on AVX2 (see [`Tile::AVX2_GROUP`]).
const MAX_AVX2_GROUP: usize = 6;

/// The activation rows one AVX2 pass over `T` serves: its [`Tile::AVX2_GROUP`], kept
/// within what the kernels' arms and buffers take.
fn avx2_group<T: Tile>() -> usize {
    T::AVX2_GROUP.clamp(1, MAX_AVX2_GROUP)
}

/// The most activation rows one pass serves on AVX-512 (see [`Tile::AVX512_GROUP`]).
const MAX_AVX512_GROUP: usize = 8;

/// Activation rows one pass serves on NEON: sixteen rows take four registers per row
/// there (see `neon.rs`).
#[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
const NEON_GROUP: usize = 2;

/// 256 values of sixteen rows in some format, and its kernels.
pub trait Tile: bytemuck::Pod + std::fmt::Debug + Send + Sync {
    /// The raw format it is packed from.
    const DTYPE: DType;

    /// Raw bytes of one row's 256 values (one K-quant block, eight 32-value blocks).
    const RAW_BYTES: usize = Self::DTYPE.block_bytes() * 256 / Self::DTYPE.block_size();

    /// Cache lines before the codes (the rows' scales), which the kernels ask for at the
    /// start of each tile.
    const HEADER_LINES: usize;

    /// Activation rows one pass of the AVX-512 kernel serves (at most
    /// `MAX_AVX512_GROUP`): with 32 registers eight rows share each unpacked group and
    /// still keep their accumulators in registers. Measured on one Zen 4 core from L2
    /// (n = 16, 2026-12-02): eight against four, Q3_K +11 %, Q5_0 +9 %, Q5_K +6 %,
    /// Q6_K +4 %, Q8_0 +2 %, Q2_K and Q4_K level; Q4_0 and Q4_1 −2 %, so they keep four.
    const AVX512_GROUP: usize = MAX_AVX512_GROUP;

    /// Activation rows one pass of the AVX2 kernel serves (at most `MAX_AVX2_GROUP`): six
    /// rows share each unpacked group before the sixteen registers spill. Measured on one
    /// Zen 3 core from L2 (12 and 24 rows, 2026-12-03), six against four: Q8_0 +23 % (its
    /// magnitude and sign per group), Q3_K +10 %, Q5_0 +9 %, Q5_1 +6 %, Q6_K +4 %, Q5_K
    /// and Q2_K +2 %, Q4_1 level; Q4_0 and Q4_K −5 %, so they (and Q4_1) keep four.
    const AVX2_GROUP: usize = MAX_AVX2_GROUP;

    /// Packs 256 values of sixteen rows (each slice those values' raw blocks) into
    /// `tile`, in place: a matrix's tiles are written straight into their buffer (built
    /// on the stack and moved, they were zeroed and copied once more: ~30 % of packing).
    fn pack_into(tile: &mut Self, blocks: [&[u8]; TILE_ROWS]);

    /// [`Tile::pack_into`] a fresh tile.
    fn pack(blocks: [&[u8]; TILE_ROWS]) -> Self {
        let mut tile = Self::zeroed();
        Self::pack_into(&mut tile, blocks);
        tile
    }

    /// The spec: the sixteen rows' dots with one activation row over `tiles` (one tile
    /// row of a matrix), integer sums as the scalar row kernels form them.
    fn dot_scalar(tiles: &[Self], a: &ActivationRow) -> [f32; TILE_ROWS];

    /// The same for `R` activation rows on AVX-512 VNNI.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F/BW/VL/VNNI.
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx512<const R: usize>(
        tiles: &[Self],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R];

    /// The same on 256-bit lanes with `vpdpbusd` (see [`vnni256`]). Tiles without such a
    /// kernel keep this default, their AVX2 kernel (the level has AVX2).
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA, F16C and either AVX-VNNI or AVX-512 VNNI + VL (what
    /// `SimdLevel::AvxVnni` checks).
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_vnni256<const R: usize>(
        tiles: &[Self],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller's contract includes AVX2, FMA and F16C.
        unsafe { Self::dot_avx2(tiles, acts) }
    }

    /// The same on AVX2 (see [`avx2`]).
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(
        tiles: &[Self],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R];

    /// Tile rows `tiles` of `m` against the activation rows `rows` (two or more, `acts`
    /// converted) on AVX2 by a loop of this format's own, each result handed to
    /// `sink(i, row, sums)` as [`TiledMatrix::matmul_tiles_with`] does; `false` (this
    /// default) where the format has none for this batch and the row-group kernel
    /// ([`Tile::dot_avx2`]) serves. Q4_K and Q5_K sweep chunks of tile rows over spread
    /// activations (`avx2_spread.rs`), Q6_K sweeps the activation rows over codes
    /// unpacked once per tile row (`q6_k_avx2_batch.rs`).
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    ///
    /// # Panics
    /// If `tiles` reaches past `m` or an activation row does not cover its tile rows.
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_batch(
        m: &TiledMatrix<Self>,
        tiles: Range<usize>,
        acts: &ActivationRows,
        rows: &[ActivationRow],
        sink: &mut dyn FnMut(usize, usize, &[f32; TILE_ROWS]),
    ) -> bool {
        let _ = (m, tiles, acts, rows, sink);
        false
    }

    /// The same on NEON with the dot product (see `neon.rs`).
    ///
    /// # Safety
    /// The CPU must have FEAT_DotProd (what `SimdLevel::NeonDotprod` checks).
    #[cfg(any(target_arch = "aarch64", test, edgeplane_neon_emulated))]
    unsafe fn dot_neon<const R: usize>(
        tiles: &[Self],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R];
}

/// Whether the tiles have kernels at `level` (so repacking pays): every x86 SIMD level,
/// and NEON with the dot product. The scalar level would run the tiles' scalar spec, and
/// plain NEON (no `sdot`) its row kernels' widening multiplies, no faster than the row
/// kernels.
pub fn has_kernels(level: SimdLevel) -> bool {
    matches!(
        level,
        SimdLevel::Avx2 | SimdLevel::AvxVnni | SimdLevel::Avx512Vnni | SimdLevel::NeonDotprod
    )
}

/// Four tile code bytes from two raw little-endian words whose low (`high` false) or high
/// nibbles are eight consecutive 4-bit codes: byte `j` is code `j` | code `4 + j` << 4.
/// Word-wide, since packing runs at every model load.
#[inline]
fn nibble_pairs(a: u32, b: u32, high: bool) -> [u8; 4] {
    const LOW: u32 = 0x0F0F_0F0F;
    let pairs = if high {
        ((a >> 4) & LOW) | (b & !LOW)
    } else {
        (a & LOW) | ((b & LOW) << 4)
    };
    pairs.to_le_bytes()
}

/// `N` little-endian words from `4N` raw bytes.
///
/// # Panics
/// If `raw` is shorter.
#[inline]
fn words<const N: usize>(raw: &[u8]) -> [u32; N] {
    let raw = &raw[..4 * N];
    from_fn(|i| u32::from_le_bytes([raw[4 * i], raw[4 * i + 1], raw[4 * i + 2], raw[4 * i + 3]]))
}

/// Asks for `lines` cache lines from `at` on, `PREFETCH_AHEAD` bytes ahead, into L2 (see
/// the module doc). Every tile kernel asks for each line as it reaches it.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_lines(at: *const u8, lines: usize) {
    use crate::cpu::x86_kernels::PREFETCH_AHEAD;
    prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(at.wrapping_add(PREFETCH_AHEAD), lines);
}

/// Asks for the first `size` bytes of each of sixteen raw rows (the next tile's blocks)
/// while the packer works on the current tile: sixteen streams a row apart, which the
/// hardware prefetcher follows poorly (Q4_0 4096² packing 0.43 → 0.23–0.29 ns/value in
/// alternating runs; the other formats level). A hint, so a no-op off x86.
#[inline]
fn prefetch_raw(rows: [&[u8]; TILE_ROWS], size: usize) {
    #[cfg(target_arch = "x86_64")]
    for row in rows {
        prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(row.as_ptr(), size.div_ceil(64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (rows, size);
}

/// Asks for `lines` cache lines from `at` on with the `_mm_prefetch` hint `HINT`. A hint:
/// any address will do.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch<const HINT: i32>(at: *const u8, lines: usize) {
    for line in 0..lines {
        // SAFETY: SSE is in every x86-64 CPU, and a prefetch reads nothing architecturally
        // and never faults, whatever the address.
        unsafe { std::arch::x86_64::_mm_prefetch::<HINT>(at.wrapping_add(64 * line).cast()) };
    }
}

/// The activation rows' quants, group sums and scales as raw pointers, which the kernels
/// read through (slice reads reload their bounds on every access and spill registers).
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    test,
    edgeplane_neon_emulated
))]
struct RowPointers<const R: usize> {
    quants: [*const i8; R],
    sums: [*const i16; R],
    scales: [*const f32; R],
}

/// Checks that every activation row covers `tiles` tiles of 256 values (quants, group
/// sums, scales) and returns their pointers: the kernels' unchecked reads rely on it.
///
/// # Panics
/// If one does not.
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    test,
    edgeplane_neon_emulated
))]
fn checked_rows<const R: usize>(tiles: usize, acts: &[&ActivationRow; R]) -> RowPointers<R> {
    for a in acts {
        let values = tiles * 256;
        // Multiplied, not divided: this runs per kernel call, and a division by a value
        // known only at run time is tens of cycles.
        assert_eq!(a.quants.len(), values, "activation row matches the tile");
        assert_eq!(
            a.sums.len() * a.format.group(),
            values,
            "group sums of that row"
        );
        assert_eq!(
            a.scales.len() * a.format.block_size(),
            values,
            "one scale per block"
        );
    }
    RowPointers {
        quants: from_fn(|i| acts[i].quants.as_ptr()),
        sums: from_fn(|i| acts[i].sums.as_ptr()),
        scales: from_fn(|i| acts[i].scales.as_ptr()),
    }
}

/// The AVX-512 kernels' sixteen-lane accumulators out as arrays.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn lanes_out<const R: usize>(acc: [std::arch::x86_64::__m512; R]) -> [[f32; TILE_ROWS]; R] {
    let mut out = [[0.0f32; TILE_ROWS]; R];
    for (o, v) in out.iter_mut().zip(acc) {
        // SAFETY: `o` is 16 f32.
        unsafe { std::arch::x86_64::_mm512_storeu_ps(o.as_mut_ptr(), v) };
    }
    out
}

/// A weight matrix `[rows, k]` repacked into tiles: `tiles[t * blocks + b]` holds values
/// `256b..256b + 256` of rows `16t..16t + 16`. A `k` that is not a multiple of 256 (the
/// 32-block formats of models 576, 896 or 960 wide, which llama.cpp's K-quant mixes store
/// as Q5_0, Q8_0 or Q4_0 there) fills its last tile column with zero blocks (`d = 0`,
/// codes 0), and the activations are read as [`TiledMatrix::padded_k`] wide (zeros past
/// `k`), so the padding adds nothing to any dot.
#[derive(Debug)]
pub struct TiledMatrix<T: Tile> {
    rows: usize,
    k: usize,
    tiles: TileBuffer<T>,
}

impl<T: Tile> TiledMatrix<T> {
    /// Repacks `w`; `None` unless it is `T::DTYPE` with a multiple of 16 rows (and, as
    /// its format requires, whole blocks), or if the memory for the tiles cannot be had
    /// (the tiles are an optional second copy: the raw rows then serve).
    pub fn new(w: &WeightMatrix) -> Option<TiledMatrix<T>> {
        let block = T::DTYPE.block_size();
        // Padding costs what it adds (zero blocks are multiplied too): up to a third more,
        // which a 576-wide model's rows take (768); narrower rows keep their raw layout.
        if w.dtype != T::DTYPE
            || !w.rows.is_multiple_of(TILE_ROWS)
            || !w.k.is_multiple_of(block)
            || 3 * w.k.next_multiple_of(256) > 4 * w.k
        {
            return None;
        }
        let (blocks, size) = (w.k.div_ceil(256), T::RAW_BYTES);
        // Raw bytes of tile column `b`: a whole tile's, or in a last column that `k` ends
        // inside, those of its whole blocks (the rest of that tile is zero blocks).
        let raw_bytes = |b: usize| match w.k % 256 {
            part if part > 0 && b + 1 == blocks => part * size / 256,
            _ => size,
        };
        // Sixteen zero-filled rows the last column's raw blocks are copied into, if short.
        let mut short = vec![
            vec![0u8; size];
            if raw_bytes(blocks - 1) < size {
                TILE_ROWS
            } else {
                0
            }
        ];
        // Fresh pages (huge where the OS gives them: `tile_buffer`), packed in place.
        let mut tiles = TileBuffer::<T>::zeroed(w.rows / TILE_ROWS * blocks)?;
        for (i, tile) in tiles.iter_mut().enumerate() {
            let (t, b) = (i / blocks, i % blocks);
            let rows: [&[u8]; TILE_ROWS] = from_fn(|r| &w.row(TILE_ROWS * t + r)[b * size..]);
            if b + 1 < blocks {
                prefetch_raw(from_fn(|r| &rows[r][size..]), raw_bytes(b + 1));
            }
            let len = raw_bytes(b);
            if len < size {
                for (copy, row) in short.iter_mut().zip(rows) {
                    copy[..len].copy_from_slice(&row[..len]);
                }
                T::pack_into(tile, from_fn(|r| &short[r][..]));
            } else {
                T::pack_into(tile, from_fn(|r| &rows[r][..size]));
            }
        }
        Some(TiledMatrix {
            rows: w.rows,
            k: w.k,
            tiles,
        })
    }

    /// The width the activations must have: `k` rounded up to whole tiles (see the type).
    pub fn padded_k(&self) -> usize {
        self.k.next_multiple_of(256)
    }

    /// Computes `W[r] · x[i]` for the weight rows of `tiles` and every activation row,
    /// handing each result to `sink(i, row, sums)`: `sums[r] = W[row + r] · x[i]` for one
    /// activation row `i` and sixteen weight rows from `row` (a tile's). A caller writing
    /// an `[n, m]` output stores the sixteen side by side, with no transpose. `acts` must
    /// be in `ActivationFormat::for_weight(T::DTYPE)` with width [`TiledMatrix::padded_k`]
    /// (zeros past `k`: [`ActivationRows::padded`]).
    ///
    /// # Panics
    /// If `acts` has another format or width.
    pub fn matmul_tiles_with(
        &self,
        simd: Simd,
        tiles: Range<usize>,
        acts: &ActivationRows,
        mut sink: impl FnMut(usize, usize, &[f32; TILE_ROWS]),
    ) {
        assert_eq!(acts.format(), ActivationFormat::for_weight(T::DTYPE));
        assert_eq!(
            acts.k(),
            self.padded_k(),
            "activation width matches the tiles"
        );
        let n = acts.rows();
        let rows: Vec<_> = (0..n).map(|i| acts.row(i)).collect();
        let group = match simd.level() {
            SimdLevel::Avx512Vnni => T::AVX512_GROUP.min(MAX_AVX512_GROUP),
            SimdLevel::Avx2 => avx2_group::<T>(),
            #[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
            SimdLevel::NeonDotprod => NEON_GROUP,
            _ => GROUP,
        };
        #[cfg(target_arch = "x86_64")]
        if simd.level() == SimdLevel::Avx2 && n > 1 {
            // SAFETY: the `Simd` token proves this CPU has AVX2, FMA and F16C.
            if unsafe { T::avx2_batch(self, tiles.clone(), acts, &rows, &mut sink) } {
                return;
            }
        }
        let block_rows = activation_block_rows(self.padded_k(), group);
        for block in (0..n).step_by(block_rows) {
            let block_end = (block + block_rows).min(n);
            for t in tiles.clone() {
                self.dot_tile_row(simd, t, &rows, block..block_end, group, &mut sink);
            }
        }
    }

    /// Sweeps tile row `t` over the activation rows `range` of `rows`, `group` at a time.
    fn dot_tile_row(
        &self,
        simd: Simd,
        t: usize,
        rows: &[ActivationRow],
        range: Range<usize>,
        group: usize,
        sink: &mut impl FnMut(usize, usize, &[f32; TILE_ROWS]),
    ) {
        let blocks = self.padded_k() / 256;
        let tile = &self.tiles[t * blocks..(t + 1) * blocks];
        let n = range.end;
        let mut i = range.start;
        while i < n {
            let g = group.min(n - i);
            let at = |j: usize| &rows[i + j];
            let mut put = |sums: &[[f32; TILE_ROWS]]| {
                for (j, row_sums) in sums.iter().enumerate() {
                    sink(i + j, TILE_ROWS * t, row_sums);
                }
            };
            // The kernel for this group's row count (a const generic, so one arm per count
            // the level serves; anything else is a single row).
            #[cfg(any(
                target_arch = "x86_64",
                target_arch = "aarch64",
                edgeplane_neon_emulated
            ))]
            macro_rules! by_group {
                ($kernel:ident; $($rows:literal),*) => {
                    match g {
                        $($rows => put(&T::$kernel::<$rows>(tile, from_fn(at))),)*
                        _ => put(&T::$kernel::<1>(tile, from_fn(at))),
                    }
                };
            }
            match simd.level() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the `Simd` token proves this CPU has AVX-512 VNNI.
                SimdLevel::Avx512Vnni => unsafe { by_group!(dot_avx512; 8, 7, 6, 5, 4, 3, 2) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the `Simd` token proves this CPU has AVX2, FMA and F16C.
                SimdLevel::Avx2 => unsafe { by_group!(dot_avx2; 6, 5, 4, 3, 2) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the `Simd` token proves AVX2/FMA/F16C and a 256-bit `vpdpbusd`.
                SimdLevel::AvxVnni => unsafe { by_group!(dot_vnni256; 4, 3, 2) },
                #[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
                // SAFETY: the `Simd` token proves this CPU has FEAT_DotProd.
                SimdLevel::NeonDotprod => unsafe { by_group!(dot_neon; 2) },
                _ => {
                    let mut sums = [[0.0f32; TILE_ROWS]; MAX_AVX512_GROUP];
                    for (j, row_sums) in sums.iter_mut().take(g).enumerate() {
                        *row_sums = T::dot_scalar(tile, at(j));
                    }
                    put(&sums[..g]);
                }
            }
            i += g;
        }
    }
}

/// Bytes of activation rows a block of them may take: with one tile row of weights
/// (16 × k codes, 70 KB at k = 4096 for Q8_0) it stays inside the L2 of every core the
/// kernels target (256 KiB–2 MiB). Without the blocking every tile row streamed all `n`
/// activation rows (2.3 MB at n = 512, k = 4096) from L3.
const ACTIVATION_BLOCK_BYTES: usize = 192 << 10;

/// Activation rows per block for width `padded_k`: as many whole `group`s as fit
/// [`ACTIVATION_BLOCK_BYTES`] (codes plus ~1/8 for scales and sums), at least one group.
fn activation_block_rows(padded_k: usize, group: usize) -> usize {
    let row_bytes = padded_k + padded_k / 8;
    let groups = (ACTIVATION_BLOCK_BYTES / row_bytes.max(1) / group.max(1)).max(1);
    groups * group.max(1)
}

/// The tiled formats: one line each, expanded into [`Interleaved`] and its dispatch.
macro_rules! tiled_formats {
    ($($variant:ident($tile:ty),)*) => {
        /// A matmul weight in one of the tiled formats.
        #[derive(Debug)]
        pub enum Interleaved {
            $(
                #[doc = concat!("`", stringify!($tile), "` tiles.")]
                $variant(TiledMatrix<$tile>),
            )*
        }

        impl Interleaved {
            /// Repacks `w` if the tiles have kernels at `level`, its format has tiles, its
            /// rows fill whole tiles and the memory for them can be had.
            pub fn new(w: &WeightMatrix, level: SimdLevel) -> Option<Interleaved> {
                if !has_kernels(level) {
                    return None;
                }
                $(
                    if w.dtype == <$tile as Tile>::DTYPE {
                        return TiledMatrix::new(w).map(Interleaved::$variant);
                    }
                )*
                None
            }

            /// The raw format.
            pub fn dtype(&self) -> DType {
                match self {
                    $(Interleaved::$variant(_) => <$tile as Tile>::DTYPE,)*
                }
            }

            /// Output rows.
            pub fn rows(&self) -> usize {
                match self {
                    $(Interleaved::$variant(m) => m.rows,)*
                }
            }

            /// Values per row.
            pub fn k(&self) -> usize {
                match self {
                    $(Interleaved::$variant(m) => m.k,)*
                }
            }

            /// See [`TiledMatrix::padded_k`].
            pub fn padded_k(&self) -> usize {
                match self {
                    $(Interleaved::$variant(m) => m.padded_k(),)*
                }
            }

            /// See [`TiledMatrix::matmul_tiles_with`].
            pub fn matmul_tiles_with(
                &self,
                simd: Simd,
                tiles: Range<usize>,
                acts: &ActivationRows,
                sink: impl FnMut(usize, usize, &[f32; TILE_ROWS]),
            ) {
                match self {
                    $(Interleaved::$variant(m) => m.matmul_tiles_with(simd, tiles, acts, sink),)*
                }
            }
        }
    };
}

tiled_formats! {
    Q4K(TileQ4K),
    Q6K(TileQ6K),
    Q4_0(TileQ4_0),
    Q8_0(TileQ8_0),
    Q4_1(TileQ4_1),
    Q5_0(TileQ5_0),
    Q5_1(TileQ5_1),
    Q5K(TileQ5K),
    Q3K(TileQ3K),
    Q2K(TileQ2K),
}

#[cfg(test)]
mod tests;
