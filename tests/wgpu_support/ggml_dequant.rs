//! Test-only dequantizers written from ggml's `dequantize_row_*` loops (block by block, in
//! ggml's loop order), independent of the WGSL per-element index formulas they check.
//! Also random block bytes with finite scales: any bit pattern is a valid quant, so random
//! blocks exercise every code without needing a quantizer.

use edgeplane::DType;

fn f16(b: &[u8], o: usize) -> f32 {
    half::f16::from_le_bytes([b[o], b[o + 1]]).to_f32()
}

/// `blocks` random blocks of a quantized dtype, or random values for float dtypes.
pub fn random_bytes(dtype: DType, elements: usize, seed: u64) -> Vec<u8> {
    let vals = super::values(elements, seed);
    match dtype {
        DType::F32 => return bytemuck::cast_slice(&vals).to_vec(),
        DType::F16 => {
            return vals
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect()
        }
        DType::BF16 => {
            return vals
                .iter()
                .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                .collect()
        }
        _ => {}
    }
    let len = dtype.bytes_for(elements as u64).expect("whole blocks") as usize;
    let mut s = seed | 1;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect();
    let scales = super::values(len, seed + 99);
    for (i, block) in bytes.chunks_mut(dtype.block_bytes()).enumerate() {
        for (f, &o) in dtype.f16_fields().iter().enumerate() {
            let v = scales[(i * 2 + f) % scales.len()] * 0.05;
            block[o..o + 2].copy_from_slice(&half::f16::from_f32(v).to_le_bytes());
        }
    }
    bytes
}

fn scale_min_k4(j: usize, q: &[u8]) -> (f32, f32) {
    if j < 4 {
        ((q[j] & 63) as f32, (q[j + 4] & 63) as f32)
    } else {
        let d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        let m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        (d as f32, m as f32)
    }
}

fn block(dtype: DType, b: &[u8], y: &mut Vec<f32>) {
    match dtype {
        DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::Q8_0 => {
            let d = f16(b, 0);
            let (min, qs_at) = match dtype {
                DType::Q4_0 => (0.0, 2),
                DType::Q4_1 => (f16(b, 2), 4),
                DType::Q5_0 => (0.0, 6),
                DType::Q5_1 => (f16(b, 2), 8),
                _ => (0.0, 2),
            };
            if dtype == DType::Q8_0 {
                y.extend(b[2..34].iter().map(|&q| d * q as i8 as f32));
                return;
            }
            let qh = match dtype {
                DType::Q5_0 => u32::from_le_bytes([b[2], b[3], b[4], b[5]]),
                DType::Q5_1 => u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                _ => 0,
            };
            let offset = match dtype {
                DType::Q4_0 => 8,
                DType::Q5_0 => 16,
                _ => 0,
            };
            let qs = &b[qs_at..qs_at + 16];
            let mut lo = [0f32; 16];
            let mut hi = [0f32; 16];
            for j in 0..16 {
                let xh0 = ((qh >> j) << 4) & 0x10;
                let xh1 = (qh >> (j + 12)) & 0x10;
                let x0 = ((qs[j] & 0xF) as u32 | xh0) as i32 - offset;
                let x1 = ((qs[j] >> 4) as u32 | xh1) as i32 - offset;
                lo[j] = x0 as f32 * d + min;
                hi[j] = x1 as f32 * d + min;
            }
            y.extend(lo);
            y.extend(hi);
        }
        DType::Q2K => {
            let (d, dmin) = (f16(b, 80), f16(b, 82));
            let mut is = 0;
            for n in 0..2 {
                let q = &b[16 + n * 32..16 + n * 32 + 32];
                for shift in [0, 2, 4, 6] {
                    for half in 0..2 {
                        let sc = b[is];
                        is += 1;
                        let (dl, ml) = (d * (sc & 0xF) as f32, dmin * (sc >> 4) as f32);
                        for l in 0..16 {
                            y.push(dl * ((q[l + 16 * half] >> shift) & 3) as f32 - ml);
                        }
                    }
                }
            }
        }
        DType::Q3K => {
            let d = f16(b, 108);
            let (k1, k2) = (0x0303_0303u32, 0x0f0f_0f0fu32);
            let w = |i: usize| u32::from_le_bytes([b[96 + i], b[97 + i], b[98 + i], b[99 + i]]);
            let (a0, a1, tmp) = (w(0), w(4), w(8));
            let aux = [
                (a0 & k2) | ((tmp & k1) << 4),
                (a1 & k2) | (((tmp >> 2) & k1) << 4),
                ((a0 >> 4) & k2) | (((tmp >> 4) & k1) << 4),
                ((a1 >> 4) & k2) | (((tmp >> 6) & k1) << 4),
            ];
            let scales: Vec<i32> = aux
                .iter()
                .flat_map(|a| a.to_le_bytes())
                .map(|s| s as i8 as i32 - 32)
                .collect();
            let (hm, mut m, mut is) = (&b[0..32], 1u8, 0);
            for n in 0..2 {
                let q = &b[32 + n * 32..64 + n * 32];
                for shift in [0, 2, 4, 6] {
                    for half in 0..2 {
                        let dl = d * scales[is] as f32;
                        is += 1;
                        for l in 0..16 {
                            let i = l + 16 * half;
                            let v =
                                ((q[i] >> shift) & 3) as i32 - if hm[i] & m != 0 { 0 } else { 4 };
                            y.push(dl * v as f32);
                        }
                    }
                    m <<= 1;
                }
            }
        }
        DType::Q4K | DType::Q5K => {
            let (d, dmin) = (f16(b, 0), f16(b, 2));
            let scales = &b[4..16];
            let (qh, ql_at) = if dtype == DType::Q5K {
                (&b[16..48], 48)
            } else {
                (&b[0..0], 16)
            };
            for g in 0..4 {
                let ql = &b[ql_at + g * 32..ql_at + g * 32 + 32];
                for hi in 0..2 {
                    let (sc, mn) = scale_min_k4(2 * g + hi, scales);
                    for l in 0..32 {
                        let mut q = if hi == 0 { ql[l] & 0xF } else { ql[l] >> 4 } as u32;
                        if dtype == DType::Q5K && qh[l] & (1 << (2 * g + hi)) != 0 {
                            q += 16;
                        }
                        y.push(d * sc * q as f32 - dmin * mn);
                    }
                }
            }
        }
        DType::Q6K => {
            let d = f16(b, 208);
            for n in 0..2 {
                let ql = &b[n * 64..n * 64 + 64];
                let qh = &b[128 + n * 32..128 + n * 32 + 32];
                let sc = &b[192 + n * 8..192 + n * 8 + 8];
                let mut out = [0f32; 128];
                for l in 0..32 {
                    let is = l / 16;
                    let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
                    let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                    let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                    let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                    out[l] = d * (sc[is] as i8) as f32 * q1 as f32;
                    out[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
                    out[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
                    out[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
                }
                y.extend(out);
            }
        }
        _ => unreachable!("float dtypes are handled by dequantize"),
    }
}

/// Values of `bytes` in `dtype`.
pub fn dequantize(dtype: DType, bytes: &[u8]) -> Vec<f32> {
    match dtype {
        DType::F32 => bytemuck::pod_collect_to_vec(bytes),
        DType::F16 => bytes.chunks(2).map(|c| f16(c, 0)).collect(),
        DType::BF16 => bytes
            .chunks(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        _ => {
            let mut y = Vec::new();
            for b in bytes.chunks(dtype.block_bytes()) {
                block(dtype, b, &mut y);
            }
            y
        }
    }
}
