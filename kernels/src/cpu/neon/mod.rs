//! AArch64 NEON kernels: the quantized row dots (Q4_0, Q8_0 against 32-block activations,
//! Q4_K, Q6_K against 256-block activations), the packed GEMM's micro-kernels (every
//! quantized format but Q8_0), the f32 helpers attention uses, and the two steps the
//! interleaved tiles' NEON kernels (`cpu::interleaved::neon`) are built from (`sdot` by
//! element, `fcvtl`). Two levels: plain NEON
//! (every AArch64 CPU; byte products through `smull` + `sadalp`) and NEON with the Armv8.2
//! dot product (`sdot`, four byte products per i32 lane in one instruction; every phone
//! core since Cortex-A55/A75 and every Apple core).
//!
//! The kernels are written once (`quant.rs`, `packed.rs`) and instantiated per level with
//! the level's byte-dot step. They compile against `arch`: the real intrinsics on aarch64,
//! and on other targets `emulated.rs`, a portable model of the same intrinsics, so that the
//! kernels' logic is tested against the scalar specs on every CI machine.
//! `tests/aarch64_neon.rs` additionally builds them for aarch64 and runs them under qemu
//! with the real instructions.
//!
//! Every kernel is an `unsafe fn` with `#[target_feature]` on aarch64 (the form every
//! stable Rust accepts, down to the Debian 1.63 toolchain the qemu test builds with) and
//! the same code, without the attribute, elsewhere.

#[cfg(target_arch = "aarch64")]
pub(crate) use core::arch::aarch64 as arch;
#[cfg(not(target_arch = "aarch64"))]
pub(crate) mod emulated;
#[cfg(not(target_arch = "aarch64"))]
pub(crate) use emulated as arch;

// The intrinsics were `unsafe fn`s before Rust 1.87 (and are in the Debian toolchain the
// qemu test builds with); the blocks stay, unneeded on newer compilers.
#[allow(unused_unsafe)]
pub(crate) mod float;
mod packed;
mod quant;
#[cfg(test)]
mod tests;

use arch::{float32x4_t, int8x16_t, uint8x16_t};

/// `RW` rows of a packed panel (`cpu::packed::Panel`) as slices: what the NEON packed
/// kernels read, kept apart from the `Panel` type so the aarch64 harness can build one.
pub(crate) struct PanelRows<'a, const RW: usize> {
    /// Each row's unsigned codes, one per value.
    pub codes: [&'a [u8]; RW],
    /// Each row's integer scale per pair of values (K family; empty for 32-blocks).
    pub scales: [&'a [i16]; RW],
    /// Each row's `d`: per 256 values (K family) or per four values (32-blocks).
    pub d: [&'a [f32]; RW],
    /// Each row's offset per group (16 values for the K family, 32 for 32-blocks).
    pub offsets: [&'a [f32]; RW],
}

/// Sixteen signed bytes at `s[at..at + 16]`; panics if out of range.
#[inline(always)]
pub(crate) fn load_s8(s: &[i8], at: usize) -> int8x16_t {
    let s = &s[at..at + 16];
    // SAFETY: `s` is sixteen readable bytes; `ld1` needs no alignment.
    unsafe { arch::vld1q_s8(s.as_ptr()) }
}

/// Sixteen unsigned bytes at `s[at..at + 16]`; panics if out of range.
#[inline(always)]
pub(crate) fn load_u8(s: &[u8], at: usize) -> uint8x16_t {
    let s = &s[at..at + 16];
    // SAFETY: `s` is sixteen readable bytes; `ld1` needs no alignment.
    unsafe { arch::vld1q_u8(s.as_ptr()) }
}

/// Four f32 at `s[at..at + 4]`; panics if out of range.
#[inline(always)]
pub(crate) fn load_f32(s: &[f32], at: usize) -> float32x4_t {
    let s = &s[at..at + 4];
    // SAFETY: `s` is four readable f32.
    unsafe { arch::vld1q_f32(s.as_ptr()) }
}

/// Four f16 (as bits) at `s[at..at + 4]` widened to f32 with one `fcvtl`, which is base
/// AArch64 NEON (the `vcvt_f32_f16` intrinsic is not stable Rust yet); panics if out of
/// range.
#[inline(always)]
pub(crate) fn load_f16x4(s: &[u16], at: usize) -> float32x4_t {
    let s = &s[at..at + 4];
    // SAFETY: `s` is four readable u16; `ld1` needs no alignment.
    widen_f16x4(unsafe { arch::vld1_u16(s.as_ptr()) })
}

/// Four f16 (as bits) widened to f32: one `fcvtl`, exact.
#[inline(always)]
pub(crate) fn widen_f16x4(bits: arch::uint16x4_t) -> float32x4_t {
    #[cfg(target_arch = "aarch64")]
    {
        let out: float32x4_t;
        // SAFETY: a register-only instruction of base AArch64 NEON.
        unsafe {
            core::arch::asm!(
                "fcvtl {out:v}.4s, {bits:v}.4h",
                out = lateout(vreg) out,
                bits = in(vreg) bits,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        out
    }
    #[cfg(not(target_arch = "aarch64"))]
    arch::fcvtl(bits)
}

/// Plain NEON: byte dots through widening multiplies.
#[allow(unused_unsafe)] // as for `float`
pub(crate) mod plain {
    use super::arch::*;

    /// `acc` plus the sixteen products of `a` and `b`, spread over its lanes (only the
    /// sum of the lanes is defined, as with `sdot`): `smull`/`smull2` to i16 (an i8
    /// product fits), then `sadalp` into i32.
    #[inline(always)]
    fn dot_bytes(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        // SAFETY: register-only NEON arithmetic; NEON is part of every AArch64 target.
        unsafe {
            let low = vmull_s8(vget_low_s8(a), vget_low_s8(b));
            vpadalq_s16(vpadalq_s16(acc, low), vmull_high_s8(a, b))
        }
    }

    super::quant::neon_quant_kernels!("neon", dot_bytes);
    super::packed::neon_packed_kernels!("neon", dot_bytes);
}

/// NEON with the Armv8.2 dot product (`FEAT_DotProd`).
#[allow(unused_unsafe)] // as for `float`
pub(crate) mod dotprod {
    use super::arch::*;

    /// `acc` plus the sixteen products of `a` and `b`: one `sdot`, each i32 lane taking
    /// its four byte products. The intrinsic is not stable in Rust yet, so on aarch64 the
    /// instruction is written out; the caller's `target_feature` lets it assemble.
    #[cfg(target_arch = "aarch64")]
    #[inline]
    #[target_feature(enable = "neon,dotprod")]
    unsafe fn dot_bytes(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        let mut acc = acc;
        // SAFETY: a register-only instruction of FEAT_DotProd, which this function's
        // callers are compiled for and only run on (the `Simd` token checks it).
        unsafe {
            core::arch::asm!(
                "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
                acc = inout(vreg) acc,
                a = in(vreg) a,
                b = in(vreg) b,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        acc
    }

    /// `acc` plus the sixteen products of `a` and `b`, as `sdot` lays them out.
    #[cfg(not(target_arch = "aarch64"))]
    #[inline(always)]
    unsafe fn dot_bytes(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        sdot(acc, a, b)
    }

    /// `acc` plus, in each i32 lane (one weight row in the tiles), the four products of
    /// that lane's bytes of `w` with bytes `4L..4L + 4` of `y`: `sdot` by element, which
    /// broadcasts four activation values to every lane for free (the interleaved tiles'
    /// step, `cpu::interleaved::neon`). Written out as `dot_bytes` is; one `asm!` per
    /// lane, since the lane is part of the instruction.
    #[cfg(target_arch = "aarch64")]
    #[inline]
    #[target_feature(enable = "neon,dotprod")]
    pub(crate) unsafe fn dot_lane<const L: i32>(
        acc: int32x4_t,
        w: int8x16_t,
        y: int8x16_t,
    ) -> int32x4_t {
        let mut acc = acc;
        macro_rules! sdot_lane {
            ($lane:literal) => {
                // SAFETY: a register-only instruction of FEAT_DotProd, which this
                // function's callers are compiled for and only run on (the `Simd` token
                // checks it).
                unsafe {
                    core::arch::asm!(
                        concat!("sdot {acc:v}.4s, {w:v}.16b, {y:v}.4b[", $lane, "]"),
                        acc = inout(vreg) acc,
                        w = in(vreg) w,
                        y = in(vreg) y,
                        options(pure, nomem, nostack, preserves_flags),
                    )
                }
            };
        }
        match L {
            0 => sdot_lane!(0),
            1 => sdot_lane!(1),
            2 => sdot_lane!(2),
            _ => sdot_lane!(3),
        }
        acc
    }

    /// `sdot` by element, as the instruction computes it (see the aarch64 version).
    #[cfg(not(target_arch = "aarch64"))]
    #[inline(always)]
    pub(crate) unsafe fn dot_lane<const L: i32>(
        acc: int32x4_t,
        w: int8x16_t,
        y: int8x16_t,
    ) -> int32x4_t {
        sdot_lane::<L>(acc, w, y)
    }

    super::quant::neon_quant_kernels!("neon,dotprod", dot_bytes);
    super::packed::neon_packed_kernels!("neon,dotprod", dot_bytes);
}
