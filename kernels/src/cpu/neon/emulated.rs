//! A portable model of the AArch64 NEON intrinsics the NEON kernels use, with the names,
//! types and lane semantics of `core::arch::aarch64` (Arm's ACLE), so that the kernels'
//! logic compiles and is tested against the scalar spec on x86-64 too. On aarch64 the real
//! intrinsics replace this module (`super::arch`); `tests/aarch64_neon.rs` runs the same
//! kernels there, under qemu, with the real instructions.
//!
//! Only what the kernels call is here. Arithmetic wraps as the instructions do; loads and
//! stores take raw pointers and are `unsafe`, as the real ones are.
#![allow(non_camel_case_types)]

macro_rules! vector {
    ($name:ident, $elem:ty, $lanes:literal) => {
        /// A NEON register as its lanes.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name(pub [$elem; $lanes]);
    };
}

vector!(int8x8_t, i8, 8);
vector!(int8x16_t, i8, 16);
vector!(uint8x8_t, u8, 8);
vector!(uint8x16_t, u8, 16);
vector!(int16x4_t, i16, 4);
vector!(int16x8_t, i16, 8);
vector!(uint16x8_t, u16, 8);
vector!(uint16x4_t, u16, 4);
vector!(uint32x4_t, u32, 4);
vector!(int32x4_t, i32, 4);
vector!(float32x4_t, f32, 4);

/// Lane-wise map of one or two vectors of the same shape.
macro_rules! lanes {
    ($t:ident, |$a:ident| $e:expr) => {
        $t(std::array::from_fn(|i| {
            let $a = $a.0[i];
            $e
        }))
    };
    ($t:ident, |$a:ident, $b:ident| $e:expr) => {
        $t(std::array::from_fn(|i| {
            let ($a, $b) = ($a.0[i], $b.0[i]);
            $e
        }))
    };
}

/// Reads `N` lanes from `p` (no alignment needed, as `ld1`).
///
/// # Safety
/// `p` must be valid for reading `N` elements.
unsafe fn read<T: Copy, const N: usize>(p: *const T) -> [T; N] {
    // SAFETY: the caller guarantees `N` readable elements at `p`; unaligned read.
    unsafe { p.cast::<[T; N]>().read_unaligned() }
}

/// `ld1 {v.16b}`: sixteen signed bytes.
///
/// # Safety
/// `p` must be valid for reading 16 bytes.
pub unsafe fn vld1q_s8(p: *const i8) -> int8x16_t {
    // SAFETY: forwarded from the caller.
    int8x16_t(unsafe { read(p) })
}

/// `ld1 {v.16b}`: sixteen unsigned bytes.
///
/// # Safety
/// `p` must be valid for reading 16 bytes.
pub unsafe fn vld1q_u8(p: *const u8) -> uint8x16_t {
    // SAFETY: forwarded from the caller.
    uint8x16_t(unsafe { read(p) })
}

/// `ld1 {v.8b}`: eight unsigned bytes.
///
/// # Safety
/// `p` must be valid for reading 8 bytes.
pub unsafe fn vld1_u8(p: *const u8) -> uint8x8_t {
    // SAFETY: forwarded from the caller.
    uint8x8_t(unsafe { read(p) })
}

/// `ld1 {v.8h}`: eight i16.
///
/// # Safety
/// `p` must be valid for reading 8 i16.
pub unsafe fn vld1q_s16(p: *const i16) -> int16x8_t {
    // SAFETY: forwarded from the caller.
    int16x8_t(unsafe { read(p) })
}

/// `ld1 {v.4s}`: four f32.
///
/// # Safety
/// `p` must be valid for reading 4 f32.
pub unsafe fn vld1q_f32(p: *const f32) -> float32x4_t {
    // SAFETY: forwarded from the caller.
    float32x4_t(unsafe { read(p) })
}

/// `st1 {v.4s}`: stores four f32.
///
/// # Safety
/// `p` must be valid for writing 4 f32.
pub unsafe fn vst1q_f32(p: *mut f32, v: float32x4_t) {
    // SAFETY: the caller guarantees four writable f32 at `p`; unaligned write.
    unsafe { p.cast::<[f32; 4]>().write_unaligned(v.0) }
}

/// `dup`: every lane `v`.
pub fn vdupq_n_s32(v: i32) -> int32x4_t {
    int32x4_t([v; 4])
}

/// `dup`: every lane `v`.
pub fn vdupq_n_u8(v: u8) -> uint8x16_t {
    uint8x16_t([v; 16])
}

/// `dup`: every lane `v`.
pub fn vdupq_n_s8(v: i8) -> int8x16_t {
    int8x16_t([v; 16])
}

/// `dup`: every lane `v`.
pub fn vdupq_n_f32(v: f32) -> float32x4_t {
    float32x4_t([v; 4])
}

/// `and`.
pub fn vandq_u8(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    lanes!(uint8x16_t, |a, b| a & b)
}

/// `orr`.
pub fn vorrq_u8(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    lanes!(uint8x16_t, |a, b| a | b)
}

/// `ushr`: logical right shift by `N` (1–8).
pub fn vshrq_n_u8<const N: i32>(a: uint8x16_t) -> uint8x16_t {
    assert!((1..=8).contains(&N), "ushr #{N} does not encode");
    lanes!(uint8x16_t, |a| if N == 8 { 0 } else { a >> N })
}

/// `shl`: left shift by `N` (0–7), dropping the bits shifted out.
pub fn vshlq_n_u8<const N: i32>(a: uint8x16_t) -> uint8x16_t {
    assert!((0..=7).contains(&N), "shl #{N} does not encode");
    lanes!(uint8x16_t, |a| a << N)
}

/// `sub`, wrapping.
pub fn vsubq_s8(a: int8x16_t, b: int8x16_t) -> int8x16_t {
    lanes!(int8x16_t, |a, b| a.wrapping_sub(b))
}

/// `add`, wrapping.
pub fn vaddq_s32(a: int32x4_t, b: int32x4_t) -> int32x4_t {
    lanes!(int32x4_t, |a, b| a.wrapping_add(b))
}

/// `fadd`.
pub fn vaddq_f32(a: float32x4_t, b: float32x4_t) -> float32x4_t {
    lanes!(float32x4_t, |a, b| a + b)
}

/// Same bits, other lane type.
pub fn vreinterpretq_s8_u8(a: uint8x16_t) -> int8x16_t {
    int8x16_t(a.0.map(|v| v as i8))
}

/// Same bits, other lane type.
pub fn vreinterpretq_s16_u16(a: uint16x8_t) -> int16x8_t {
    int16x8_t(a.0.map(|v| v as i16))
}

/// Same bits, other lane type.
pub fn vreinterpretq_f32_u8(a: uint8x16_t) -> float32x4_t {
    float32x4_t(std::array::from_fn(|i| {
        f32::from_le_bytes([a.0[4 * i], a.0[4 * i + 1], a.0[4 * i + 2], a.0[4 * i + 3]])
    }))
}

/// The low eight lanes.
pub fn vget_low_s8(a: int8x16_t) -> int8x8_t {
    int8x8_t(std::array::from_fn(|i| a.0[i]))
}

/// The low four lanes.
pub fn vget_low_s16(a: int16x8_t) -> int16x4_t {
    int16x4_t(std::array::from_fn(|i| a.0[i]))
}

/// `uxtl`: widens eight u8 to u16.
pub fn vmovl_u8(a: uint8x8_t) -> uint16x8_t {
    uint16x8_t(a.0.map(u16::from))
}

/// `smull`: widening multiply of eight i8 lanes.
pub fn vmull_s8(a: int8x8_t, b: int8x8_t) -> int16x8_t {
    lanes!(int16x8_t, |a, b| i16::from(a) * i16::from(b))
}

/// `smull2`: widening multiply of the high eight i8 lanes.
pub fn vmull_high_s8(a: int8x16_t, b: int8x16_t) -> int16x8_t {
    int16x8_t(std::array::from_fn(|i| {
        i16::from(a.0[8 + i]) * i16::from(b.0[8 + i])
    }))
}

/// `smull`: widening multiply of four i16 lanes.
pub fn vmull_s16(a: int16x4_t, b: int16x4_t) -> int32x4_t {
    lanes!(int32x4_t, |a, b| i32::from(a) * i32::from(b))
}

/// `smull2`: widening multiply of the high four i16 lanes.
pub fn vmull_high_s16(a: int16x8_t, b: int16x8_t) -> int32x4_t {
    int32x4_t(std::array::from_fn(|i| {
        i32::from(a.0[4 + i]) * i32::from(b.0[4 + i])
    }))
}

/// `sadalp`: adds adjacent i16 pairs of `b`, widened, to `a`'s i32 lanes.
pub fn vpadalq_s16(a: int32x4_t, b: int16x8_t) -> int32x4_t {
    int32x4_t(std::array::from_fn(|i| {
        a.0[i]
            .wrapping_add(i32::from(b.0[2 * i]))
            .wrapping_add(i32::from(b.0[2 * i + 1]))
    }))
}

/// `addp`: sums of adjacent pairs, `a`'s pairs in the low half, `b`'s in the high half.
pub fn vpaddq_s16(a: int16x8_t, b: int16x8_t) -> int16x8_t {
    int16x8_t(std::array::from_fn(|i| {
        let src = if i < 4 { &a.0 } else { &b.0 };
        let j = 2 * (i % 4);
        src[j].wrapping_add(src[j + 1])
    }))
}

/// `mla` by a scalar: `a + b · c`, wrapping.
pub fn vmlaq_n_s32(a: int32x4_t, b: int32x4_t, c: i32) -> int32x4_t {
    lanes!(int32x4_t, |a, b| a.wrapping_add(b.wrapping_mul(c)))
}

/// `addv`: the sum of the four lanes, wrapping.
pub fn vaddvq_s32(a: int32x4_t) -> i32 {
    a.0.iter().fold(0i32, |s, &v| s.wrapping_add(v))
}

/// `faddp` twice: `(l0 + l1) + (l2 + l3)`, the order the instruction adds in.
pub fn vaddvq_f32(a: float32x4_t) -> f32 {
    (a.0[0] + a.0[1]) + (a.0[2] + a.0[3])
}

/// `scvtf`: i32 lanes to f32.
pub fn vcvtq_f32_s32(a: int32x4_t) -> float32x4_t {
    float32x4_t(a.0.map(|v| v as f32))
}

/// `fmla`: `a + b · c`, fused.
pub fn vfmaq_f32(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
    float32x4_t(std::array::from_fn(|i| b.0[i].mul_add(c.0[i], a.0[i])))
}

/// `fmla` by a scalar: `a + b · n`, fused.
pub fn vfmaq_n_f32(a: float32x4_t, b: float32x4_t, n: f32) -> float32x4_t {
    lanes!(float32x4_t, |a, b| b.mul_add(n, a))
}

/// `sdot` (Armv8.2 dot product): each i32 lane of `a` plus the four products of the
/// matching byte quadruple of `b` and `c`. Not an intrinsic on stable Rust; the aarch64
/// kernels issue the instruction through `asm!`.
pub fn sdot(a: int32x4_t, b: int8x16_t, c: int8x16_t) -> int32x4_t {
    int32x4_t(std::array::from_fn(|i| {
        (0..4).fold(a.0[i], |s, j| {
            s.wrapping_add(i32::from(b.0[4 * i + j]) * i32::from(c.0[4 * i + j]))
        })
    }))
}

/// `ld1 {v.4h}`: four u16.
///
/// # Safety
/// `p` must be valid for reading 4 u16.
pub unsafe fn vld1_u16(p: *const u16) -> uint16x4_t {
    // SAFETY: forwarded from the caller.
    uint16x4_t(unsafe { read(p) })
}

/// `dup`: every lane `v`.
pub fn vdup_n_u8(v: u8) -> uint8x8_t {
    uint8x8_t([v; 8])
}

/// `mov v.d[1]`: `low` in lanes 0–7, `high` in 8–15.
pub fn vcombine_u8(low: uint8x8_t, high: uint8x8_t) -> uint8x16_t {
    uint8x16_t(std::array::from_fn(|i| {
        if i < 8 {
            low.0[i]
        } else {
            high.0[i - 8]
        }
    }))
}

/// `eor`.
pub fn veorq_u8(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    lanes!(uint8x16_t, |a, b| a ^ b)
}

/// `cmtst`: all ones where `a & b` is not zero.
pub fn vtstq_u8(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    lanes!(uint8x16_t, |a, b| if a & b != 0 { 0xFF } else { 0 })
}

/// The low eight lanes.
pub fn vget_low_u8(a: uint8x16_t) -> uint8x8_t {
    uint8x8_t(std::array::from_fn(|i| a.0[i]))
}

/// `uxtl2`: widens the high eight u8 to u16.
pub fn vmovl_high_u8(a: uint8x16_t) -> uint16x8_t {
    uint16x8_t(std::array::from_fn(|i| u16::from(a.0[8 + i])))
}

/// `sxtl`: widens eight i8 to i16.
pub fn vmovl_s8(a: int8x8_t) -> int16x8_t {
    int16x8_t(a.0.map(i16::from))
}

/// `sxtl2`: widens the high eight i8 to i16.
pub fn vmovl_high_s8(a: int8x16_t) -> int16x8_t {
    int16x8_t(std::array::from_fn(|i| i16::from(a.0[8 + i])))
}

/// The low four lanes.
pub fn vget_low_u16(a: uint16x8_t) -> uint16x4_t {
    uint16x4_t(std::array::from_fn(|i| a.0[i]))
}

/// `uxtl`: widens four u16 to u32.
pub fn vmovl_u16(a: uint16x4_t) -> uint32x4_t {
    uint32x4_t(a.0.map(u32::from))
}

/// `uxtl2`: widens the high four u16 to u32.
pub fn vmovl_high_u16(a: uint16x8_t) -> uint32x4_t {
    uint32x4_t(std::array::from_fn(|i| u32::from(a.0[4 + i])))
}

/// `sxtl`: widens four i16 to i32.
pub fn vmovl_s16(a: int16x4_t) -> int32x4_t {
    int32x4_t(a.0.map(i32::from))
}

/// `sxtl2`: widens the high four i16 to i32.
pub fn vmovl_high_s16(a: int16x8_t) -> int32x4_t {
    int32x4_t(std::array::from_fn(|i| i32::from(a.0[4 + i])))
}

/// Same bits, other lane type.
pub fn vreinterpretq_s32_u32(a: uint32x4_t) -> int32x4_t {
    int32x4_t(a.0.map(|v| v as i32))
}

/// `mla`: `a + b · c`, wrapping.
pub fn vmlaq_s32(a: int32x4_t, b: int32x4_t, c: int32x4_t) -> int32x4_t {
    int32x4_t(std::array::from_fn(|i| {
        a.0[i].wrapping_add(b.0[i].wrapping_mul(c.0[i]))
    }))
}

/// `fmul` by a scalar.
pub fn vmulq_n_f32(a: float32x4_t, n: f32) -> float32x4_t {
    lanes!(float32x4_t, |a| a * n)
}

/// `fmls`: `a − b · c`, fused.
pub fn vfmsq_f32(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
    float32x4_t(std::array::from_fn(|i| (-b.0[i]).mul_add(c.0[i], a.0[i])))
}

/// `sdot` by element: each i32 lane of `a` plus the four products of its byte quadruple
/// of `b` and quadruple `L` of `c` (the same four bytes for every lane).
pub fn sdot_lane<const L: i32>(a: int32x4_t, b: int8x16_t, c: int8x16_t) -> int32x4_t {
    assert!(
        (0..4).contains(&L),
        "sdot by element takes lanes 0-3, not {L}"
    );
    let at = 4 * L as usize;
    int32x4_t(std::array::from_fn(|i| {
        (0..4).fold(a.0[i], |s, j| {
            s.wrapping_add(i32::from(b.0[4 * i + j]) * i32::from(c.0[at + j]))
        })
    }))
}

/// `fcvtl`: four f16 (as bits) widened to f32, exactly.
pub fn fcvtl(a: uint16x4_t) -> float32x4_t {
    float32x4_t(a.0.map(|bits| half::f16::from_bits(bits).to_f32()))
}

/// Same bits, other lane type.
pub fn vreinterpret_u16_u8(a: uint8x8_t) -> uint16x4_t {
    uint16x4_t(std::array::from_fn(|i| {
        u16::from_le_bytes([a.0[2 * i], a.0[2 * i + 1]])
    }))
}

/// `ushll #N`: widens four u16 to u32, shifted left by `N` (0–16).
pub fn vshll_n_u16<const N: i32>(a: uint16x4_t) -> uint32x4_t {
    assert!((0..=16).contains(&N), "ushll #{N} does not encode");
    uint32x4_t(a.0.map(|v| u32::from(v) << N))
}

/// Same bits, other lane type.
pub fn vreinterpretq_f32_u32(a: uint32x4_t) -> float32x4_t {
    float32x4_t(a.0.map(f32::from_bits))
}
