use super::*;
use crate::cpu::activation::ActivationRows;
use crate::cpu::layout::q6_k;
use crate::noise::noise;

/// Random rows of a tiled format (see [`crate::noise::random_blocks`]).
fn random_rows(dtype: DType, rows: usize, k: usize, seed: u64) -> Vec<u8> {
    crate::noise::random_blocks(dtype, rows * k, seed)
}

#[test]
fn tiles_match_the_scalar_row_dots_at_every_level() {
    let rows = 48;
    // Whole tiles, and for the 32-block formats a last tile column padded with zero
    // blocks (896 = 3.5 tiles, a Qwen2.5-0.5B width).
    let cases = [
        (DType::Q4K, 768),
        (DType::Q6K, 768),
        (DType::Q4_0, 768),
        (DType::Q8_0, 768),
        (DType::Q4_1, 768),
        (DType::Q5_0, 768),
        (DType::Q5_1, 768),
        (DType::Q5K, 768),
        (DType::Q3K, 768),
        (DType::Q2K, 768),
        (DType::Q4_0, 896),
        (DType::Q8_0, 896),
        (DType::Q4_1, 896),
        (DType::Q5_0, 896),
        (DType::Q5_1, 896),
    ];
    for (dtype, k) in cases {
        let w = random_rows(dtype, rows, k, 11);
        let matrix = WeightMatrix {
            dtype,
            rows,
            k,
            bytes: &w,
        };
        let packed = Interleaved::new(&matrix, SimdLevel::Avx512Vnni)
            .expect("a tiled format with whole tiles");
        assert_eq!((packed.dtype(), packed.rows()), (dtype, rows));
        // Every group size at every level (up to six on AVX2, eight on AVX-512) and a
        // remainder after a full group of each.
        for n in [1, 3, 4, 5, 7, 8, 11, 13] {
            let x = noise(n as u64, n * k);
            let format = ActivationFormat::for_weight(dtype);
            let acts = ActivationRows::new(format, &x, k);
            let wide = ActivationRows::padded(format, &x, k, packed.padded_k());
            assert_eq!(
                (packed.k(), packed.padded_k()),
                (k, k.next_multiple_of(256))
            );
            // The scalar row dots (the spec), and the largest of them: the kernels fold
            // their blocks' integer sums into f32 in another order than the spec (rounding
            // at 1e-7 of each block's term), which a dot that cancels to a small value
            // shows relative to itself, so the bound is relative to the outputs' scale.
            let want: Vec<f32> = (16..48)
                .flat_map(|r| (0..n).map(move |i| (r, i)))
                .map(|(r, i)| {
                    crate::cpu::dot::dot(Simd::scalar(), dtype, matrix.row(r), &acts.row(i))
                })
                .collect();
            let scale = want.iter().fold(1.0f32, |m, w| m.max(w.abs()));
            for level in SimdLevel::available() {
                let simd = Simd::new(level).expect("listed as available");
                // Tiles 1..3: rows 16..48.
                let mut got = vec![f32::NAN; 32 * n];
                packed.matmul_tiles_with(simd, 1..3, &wide, |i, row, sums| {
                    for (r, &s) in sums.iter().enumerate() {
                        got[(row - 16 + r) * n + i] = s;
                    }
                });
                for (at, (&g, &want)) in got.iter().zip(&want).enumerate() {
                    let (r, i) = (16 + at / n, at % n);
                    assert!(
                        (g - want).abs() <= 1e-5 * scale,
                        "{dtype} {level} n={n} row {r} act {i}: {g} vs {want}"
                    );
                }
            }
        }
    }
}

/// A batch wider than one L2 block of activation rows (`activation_block_rows`: 40 rows at
/// k = 4096) is swept block by block; every output is still written once, and right.
#[test]
fn batches_spanning_several_activation_blocks_write_every_output_once() {
    let (rows, k) = (32, 4096);
    // Q6_K's unpacked path takes groups of four: 101–103 leave one to three over.
    for (dtype, n) in [
        (DType::Q8_0, 100),
        (DType::Q4K, 100),
        (DType::Q6K, 101),
        (DType::Q6K, 103),
    ] {
        let w = random_rows(dtype, rows, k, 5);
        let matrix = WeightMatrix {
            dtype,
            rows,
            k,
            bytes: &w,
        };
        let packed = Interleaved::new(&matrix, SimdLevel::Avx512Vnni).expect("whole tiles");
        let x = noise(9, n * k);
        let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
        let want: Vec<f32> = (0..rows)
            .flat_map(|r| (0..n).map(move |i| (r, i)))
            .map(|(r, i)| crate::cpu::dot::dot(Simd::scalar(), dtype, matrix.row(r), &acts.row(i)))
            .collect();
        let scale = want.iter().fold(1.0f32, |m, w| m.max(w.abs()));
        for level in SimdLevel::available() {
            let simd = Simd::new(level).expect("listed as available");
            let group = match level {
                SimdLevel::Avx512Vnni => MAX_AVX512_GROUP,
                SimdLevel::Avx2 => MAX_AVX2_GROUP,
                _ => GROUP,
            };
            assert!(
                activation_block_rows(k, group) < n / 2,
                "{level}: several blocks"
            );
            let mut got = vec![f32::NAN; rows * n];
            let mut writes = vec![0u8; rows * n];
            packed.matmul_tiles_with(simd, 0..rows / TILE_ROWS, &acts, |i, row, sums| {
                for (r, &s) in sums.iter().enumerate() {
                    got[(row + r) * n + i] = s;
                    writes[(row + r) * n + i] += 1;
                }
            });
            assert!(
                writes.iter().all(|&c| c == 1),
                "{dtype} {level}: each output once"
            );
            for (at, (&g, &want)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - want).abs() <= 1e-5 * scale,
                    "{dtype} {level} row {} act {}: {g} vs {want}",
                    at / n,
                    at % n
                );
            }
        }
    }
}

#[test]
fn activation_blocks_are_whole_groups_within_the_budget() {
    for (k, group) in [
        (256, 8),
        (896, 8),
        (4096, 8),
        (4096, 4),
        (11008, 8),
        (65536, 8),
    ] {
        let rows = activation_block_rows(k, group);
        assert_eq!(rows % group, 0, "k={k}: whole groups");
        assert!(rows >= group, "k={k}: at least one group");
        assert!(
            rows == group || rows * (k + k / 8) <= ACTIVATION_BLOCK_BYTES,
            "k={k}: {rows} rows fit the budget"
        );
    }
}

#[test]
fn only_whole_tiles_of_tiled_formats_are_repacked() {
    let w = random_rows(DType::Q4K, 16, 256, 1);
    let matrix = |dtype, rows, k, bytes| WeightMatrix {
        dtype,
        rows,
        k,
        bytes,
    };
    assert!(
        Interleaved::new(
            &matrix(DType::Q4K, 8, 256, &w[..8 * 144]),
            SimdLevel::Avx512Vnni
        )
        .is_none(),
        "8 rows are half a tile"
    );
    assert!(
        Interleaved::new(
            &matrix(DType::Q8_0, 16, 64, &w[..16 * 68]),
            SimdLevel::Avx512Vnni
        )
        .is_none(),
        "64 values are a quarter of a tile: padding them would quadruple the work"
    );
    let q8 = random_rows(DType::Q8_0, 16, 576, 2);
    let padded = Interleaved::new(&matrix(DType::Q8_0, 16, 576, &q8), SimdLevel::Avx512Vnni)
        .expect("576 values pad to 768, a third more: tiled");
    assert_eq!((padded.k(), padded.padded_k()), (576, 768));
    assert!(
        Interleaved::new(
            &matrix(DType::Q8_0, 16, 544, &q8[..16 * 544 / 32 * 34]),
            SimdLevel::Avx512Vnni
        )
        .is_none(),
        "544 values would pad to 768, over a third more"
    );
    assert!(
        Interleaved::new(
            &matrix(DType::F16, 16, 256, &[0u8; 16 * 512]),
            SimdLevel::Avx512Vnni
        )
        .is_none(),
        "f16 has no tiles"
    );
    assert!(Interleaved::new(&matrix(DType::Q4K, 16, 256, &w), SimdLevel::Avx512Vnni).is_some());
    assert!(
        Interleaved::new(&matrix(DType::Q4K, 16, 256, &w), SimdLevel::Scalar).is_none(),
        "no tiles at the scalar level (its spec is slower than the row kernels)"
    );
    // 2⁶⁰ rows would take more bytes of tiles than any allocation may have (`isize::MAX`):
    // the allocation fails before any row is read, and there are no tiles.
    assert!(
        Interleaved::new(&matrix(DType::Q4K, 1 << 60, 256, &w), SimdLevel::Avx512Vnni).is_none(),
        "tiles that cannot be allocated are skipped, not a crash"
    );
}

/// The 4-bit codes of a raw Q4_K block in value order, byte by byte (the packer's spec):
/// chunk `c` of 32 bytes holds values `64c..64c + 32` in its low nibbles, the next 32 in
/// its high ones.
fn q4_k_codes(blk: &[u8]) -> Vec<u8> {
    let qs = &blk[crate::cpu::layout::q4_k::QS..crate::cpu::layout::q4_k::QS + 128];
    let mut out = vec![0u8; 256];
    for (c, chunk) in qs.chunks_exact(32).enumerate() {
        for (i, &byte) in chunk.iter().enumerate() {
            out[64 * c + i] = byte & 0xF;
            out[64 * c + 32 + i] = byte >> 4;
        }
    }
    out
}

#[test]
fn word_wide_packers_place_every_code_where_the_layout_says() {
    let w = random_rows(DType::Q4K, 16, 256, 5);
    let rows: [&[u8]; TILE_ROWS] = from_fn(|r| &w[r * 144..(r + 1) * 144]);
    let tile = TileQ4K::pack(rows);
    for (r, blk) in rows.iter().enumerate() {
        let codes = q4_k_codes(blk);
        for g in 0..32 {
            for j in 0..4 {
                let want = codes[8 * g + j] | (codes[8 * g + 4 + j] << 4);
                assert_eq!(tile.codes[g][r][j], want, "Q4_K row {r} group {g} byte {j}");
            }
        }
    }

    let w = random_rows(DType::Q6K, 16, 256, 6);
    let rows: [&[u8]; TILE_ROWS] = from_fn(|r| &w[r * 210..(r + 1) * 210]);
    let tile = TileQ6K::pack(rows);
    for (r, blk) in rows.iter().enumerate() {
        // The packer's codes, checked against ggml's dequantization of the raw block.
        let codes = super::q6_k::block_codes(blk);
        let values = crate::quant::dequantize(DType::Q6K, blk, 256).expect("one block");
        let d = crate::cpu::layout::f16_at(&blk[q6_k::D..]);
        for (v, (&c, &x)) in codes.iter().zip(&values).enumerate() {
            let scale = blk[q6_k::SCALES + v / 16] as i8;
            assert!(c < 64, "Q6_K row {r} value {v}: code {c}");
            assert_eq!(d * f32::from(scale) * (i32::from(c) - 32) as f32, x);
        }
        for s in 0..16 {
            assert_eq!(tile.scales[s][r], blk[q6_k::SCALES + s] as i8);
            for j in 0..4 {
                let bytes = from_fn(|p| tile.codes[s][p][r][j]);
                let got = super::q6_k::gather_codes(bytes);
                for (f, &c) in got.iter().enumerate() {
                    let v = 16 * s + 4 * f + j;
                    assert_eq!(c, codes[v], "Q6_K row {r} value {v}");
                }
                // Codes 0-2 sit whole in the low six bits (what the kernels AND out).
                for p in 0..3 {
                    assert_eq!(bytes[p] & 0x3F, codes[16 * s + 4 * p + j]);
                }
            }
        }
    }
}

#[test]
fn q6_k_code_spreading_round_trips_every_four_codes() {
    for packed in 0u32..1 << 24 {
        let c: [u8; 4] = from_fn(|f| ((packed >> (6 * f)) & 0x3F) as u8);
        assert_eq!(super::q6_k::gather_codes(super::q6_k::spread_codes(c)), c);
    }
}

#[test]
fn fifth_bit_masks_hold_each_values_fifth_bit() {
    use crate::cpu::layout::{block32_codes, q5_1, u32_at};
    let w = random_rows(DType::Q5_1, 16, 256, 7);
    let rows: [&[u8]; TILE_ROWS] = from_fn(|r| &w[r * 192..(r + 1) * 192]);
    let tile = TileQ5_1::pack(rows);
    for (r, raw) in rows.iter().enumerate() {
        for (s, blk) in raw.chunks_exact(q5_1::BYTES).enumerate() {
            let codes = block32_codes(&blk[q5_1::QS..], Some(u32_at(blk, q5_1::QH)));
            let block = &tile.blocks[s];
            for (v, &code) in codes.iter().enumerate() {
                let (g, j) = (v / 8, v % 8);
                let nibbles = block.codes[g][r][j % 4];
                let low = if j < 4 { nibbles & 0xF } else { nibbles >> 4 };
                let fifth = (block.high[g][j / 4] >> (4 * r + j % 4)) & 1;
                assert_eq!(
                    low | (fifth as u8) << 4,
                    code,
                    "Q5_1 row {r} block {s} value {v}"
                );
            }
            assert_eq!(tile.d[s][r], u16::from_le_bytes([blk[0], blk[1]]));
            assert_eq!(tile.m[s][r], u16::from_le_bytes([blk[2], blk[3]]));
        }
    }
}

/// Both encodings of the 256-bit VNNI kernels against the scalar spec, each where this CPU
/// has it (the level's dispatch runs only one of them on a CPU with both).
#[cfg(target_arch = "x86_64")]
#[test]
fn each_vnni256_encoding_matches_the_tile_spec() {
    let evex = SimdLevel::Avx512Vnni.is_available();
    let vex = SimdLevel::Avx2.is_available() && super::vnni256::has_vex();
    let k = 512;
    let x = noise(9, 4 * k);
    macro_rules! check {
        ($tile:ty, $kernel:ident) => {{
            let dtype = <$tile as Tile>::DTYPE;
            let w = random_rows(dtype, TILE_ROWS, k, 21);
            let matrix = WeightMatrix {
                dtype,
                rows: TILE_ROWS,
                k,
                bytes: &w,
            };
            let tiled = TiledMatrix::<$tile>::new(&matrix).expect("whole tiles");
            let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
            let rows: Vec<_> = (0..4).map(|i| acts.row(i)).collect();
            let want: Vec<_> = rows
                .iter()
                .map(|a| <$tile>::dot_scalar(&tiled.tiles, a))
                .collect();
            let close = |got: &[[f32; TILE_ROWS]], what: &str| {
                for (g, w) in got.iter().zip(&want) {
                    for (a, b) in g.iter().zip(w) {
                        assert!(
                            (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                            "{dtype} {what}: {a} vs {b}"
                        );
                    }
                }
            };
            let four: [&ActivationRow; 4] = from_fn(|i| &rows[i]);
            if evex {
                // SAFETY: checked above that this CPU has the features.
                let got = unsafe { super::vnni256::evex::$kernel(&tiled.tiles, four) };
                close(&got, "evex");
            }
            if vex {
                // SAFETY: checked above that this CPU has the features.
                let got = unsafe { super::vnni256::vex::$kernel(&tiled.tiles, four) };
                close(&got, "vex");
            }
        }};
    }
    check!(TileQ4_0, dot_nibble32);
    check!(TileQ4_1, dot_nibble32);
    check!(TileQ5_0, dot_nibble32);
    check!(TileQ5_1, dot_nibble32);
    check!(TileQ8_0, dot_q8_0);
    check!(TileQ4K, dot_k4);
    check!(TileQ5K, dot_k4);
    check!(TileQ6K, dot_q6_k);
    check!(TileQ2K, dot_q2_k);
    check!(TileQ3K, dot_q3_k);
}

/// The NEON tile kernels against each tile's spec at one and two activation rows (a pass's
/// sizes), on two tiles of 16 rows × 512 values. Off aarch64 they run on the emulated
/// intrinsics, in every test build (the emulated-NEON CI step also runs them through
/// `matmul_tiles_with`'s dispatch, in the test above); on aarch64 on the real ones.
#[test]
fn neon_tile_kernels_match_the_tile_spec() {
    #[cfg(target_arch = "aarch64")]
    if !SimdLevel::NeonDotprod.is_available() {
        eprintln!("no FEAT_DotProd on this CPU: the NEON tile kernels cannot run");
        return;
    }
    let k = 512;
    let x = noise(13, 2 * k);
    macro_rules! check {
        ($tile:ty) => {{
            let dtype = <$tile as Tile>::DTYPE;
            let w = random_rows(dtype, 2 * TILE_ROWS, k, 23);
            let matrix = WeightMatrix {
                dtype,
                rows: 2 * TILE_ROWS,
                k,
                bytes: &w,
            };
            let tiled = TiledMatrix::<$tile>::new(&matrix).expect("whole tiles");
            let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
            let rows: Vec<_> = (0..2).map(|i| acts.row(i)).collect();
            for tile in tiled.tiles.chunks_exact(k / 256) {
                let want: Vec<_> = rows.iter().map(|a| <$tile>::dot_scalar(tile, a)).collect();
                let scale = want.iter().flatten().fold(1.0f32, |m, w| m.max(w.abs()));
                // SAFETY: the emulated intrinsics off aarch64; on aarch64 checked above.
                let two = unsafe { <$tile>::dot_neon::<2>(tile, [&rows[0], &rows[1]]) };
                let one = unsafe { <$tile>::dot_neon::<1>(tile, [&rows[1]]) };
                for (what, got, want) in [("R=2", &two[..], &want[..]), ("R=1", &one, &want[1..])] {
                    for (g, w) in got.iter().zip(want) {
                        for (r, (a, b)) in g.iter().zip(w).enumerate() {
                            assert!(
                                (a - b).abs() <= 1e-5 * scale,
                                "{dtype} NEON {what} row {r}: {a} vs {b}"
                            );
                        }
                    }
                }
            }
        }};
    }
    check!(TileQ4_0);
    check!(TileQ4_1);
    check!(TileQ5_0);
    check!(TileQ5_1);
    check!(TileQ8_0);
    check!(TileQ4K);
    check!(TileQ5K);
    check!(TileQ6K);
    check!(TileQ2K);
    check!(TileQ3K);
}

/// Each side of a padded tile column is zero on its own past `k` (either alone keeps the
/// dots right, so the dot tests above cannot tell them apart): the tiles' padding blocks
/// have `d = 0` and zero codes, the padded activations zero quants, sums and scales, and
/// their first `k` values quantize as the unpadded ones do.
#[test]
fn padded_tiles_and_activations_are_zero_past_k() {
    let k = 576;
    let w = random_rows(DType::Q8_0, 16, k, 5);
    let matrix = WeightMatrix {
        dtype: DType::Q8_0,
        rows: 16,
        k,
        bytes: &w,
    };
    let tiled = TiledMatrix::<TileQ8_0>::new(&matrix).expect("576 pads to 768");
    assert_eq!(tiled.tiles.len(), 3);
    let last = &tiled.tiles[2];
    for s in 2..8 {
        assert!(
            last.d[s].iter().all(|&d| d == 0),
            "padding block {s} has d = 0"
        );
        for g in 8 * s..8 * s + 8 {
            let codes = last.codes[g].as_flattened();
            assert!(
                codes.iter().all(|&c| c == 128),
                "padding block {s}: codes of 0"
            );
        }
    }
    assert!(
        last.d[..2].iter().flatten().any(|&d| d != 0),
        "the live blocks keep their scales"
    );
    let x = noise(3, 2 * k);
    let format = ActivationFormat::Q8Block32;
    let (plain, wide) = (
        ActivationRows::new(format, &x, k),
        ActivationRows::padded(format, &x, k, 768),
    );
    assert_eq!((wide.k(), wide.rows()), (768, 2));
    for i in 0..2 {
        let (p, w) = (plain.row(i), wide.row(i));
        assert_eq!(&w.quants[..k], p.quants);
        assert_eq!(&w.scales[..k / 32], p.scales);
        assert!(w.quants[k..].iter().all(|&q| q == 0));
        assert!(w.scales[k / 32..].iter().all(|&s| s == 0.0));
        assert!(w.sums[k / 32..].iter().all(|&s| s == 0));
    }
}

/// The AVX2 spread path ([`avx2_spread`]) sweeps tile rows in chunks: a matrix of several
/// chunks, from a tile row inside the first, gets every output once and right, for every
/// activation group size and a remainder.
#[cfg(target_arch = "x86_64")]
#[test]
fn spread_chunks_cover_every_tile_row_once() {
    let Some(simd) = Simd::new(SimdLevel::Avx2) else {
        return;
    };
    let (rows, k) = (16 * 24, 4096);
    for dtype in [DType::Q4K, DType::Q5K] {
        let w = random_rows(dtype, rows, k, 21);
        let matrix = WeightMatrix {
            dtype,
            rows,
            k,
            bytes: &w,
        };
        let packed = Interleaved::new(&matrix, SimdLevel::Avx2).expect("whole tiles");
        let tile_bytes = match dtype {
            DType::Q4K => std::mem::size_of::<TileQ4K>(),
            _ => std::mem::size_of::<TileQ5K>(),
        };
        let row_bytes = (k / 256) * tile_bytes;
        let per_chunk = avx2_spread::chunk_tile_rows(row_bytes);
        let tiles = 3..rows / TILE_ROWS;
        assert!(tiles.len() > 2 * per_chunk, "{dtype}: three chunks or more");
        for n in [2, 9] {
            let x = noise(n as u64 + 40, n * k);
            let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
            let mut got = vec![f32::NAN; rows * n];
            let mut writes = vec![0u8; rows * n];
            packed.matmul_tiles_with(simd, tiles.clone(), &acts, |i, row, sums| {
                for (r, &s) in sums.iter().enumerate() {
                    got[(row + r) * n + i] = s;
                    writes[(row + r) * n + i] += 1;
                }
            });
            let first = TILE_ROWS * tiles.start;
            assert!(
                writes[..first * n].iter().all(|&c| c == 0),
                "{dtype}: rows before"
            );
            assert!(
                writes[first * n..].iter().all(|&c| c == 1),
                "{dtype}: each once"
            );
            let want: Vec<f32> = (first..rows)
                .flat_map(|r| (0..n).map(move |i| (r, i)))
                .map(|(r, i)| {
                    crate::cpu::dot::dot(Simd::scalar(), dtype, matrix.row(r), &acts.row(i))
                })
                .collect();
            let scale = want.iter().fold(1.0f32, |m, w| m.max(w.abs()));
            for (at, (&g, &want)) in got[first * n..].iter().zip(&want).enumerate() {
                assert!(
                    (g - want).abs() <= 1e-5 * scale,
                    "{dtype} n={n} row {} act {}: {g} vs {want}",
                    first + at / n,
                    at % n
                );
            }
        }
    }
}

/// Codes at their extremes against activations at +127 and −127 bring the i16 sums the
/// AVX2 kernels form before widening to their bound; every level still matches the scalar
/// row dots. Q4_K and Q5_K: every bit set (codes 15 and 31, scales and mins 63). Q6_K: codes
/// 0 and 63 (the batch kernel's `code − 32` at −32 and 31, against `y + 128` up to 255)
/// with scales at −128.
#[test]
fn extreme_codes_and_activations_stay_exact() {
    use crate::cpu::layout::{q4_k, q5_k, q6_k};
    let (rows, k) = (64, 1024);
    let k4 = |bytes: usize| {
        let mut block = vec![0xFFu8; bytes];
        // d = 1, dmin = 0 (f16), so the codes' term alone sets the result.
        block[..4].copy_from_slice(&[0x00, 0x3C, 0x00, 0x00]);
        block
    };
    let q6 = |code_bits: u8| {
        let mut block = vec![code_bits; q6_k::BYTES];
        block[q6_k::SCALES..q6_k::D].fill(0x80);
        block[q6_k::D..].copy_from_slice(&[0x00, 0x3C]);
        block
    };
    for (dtype, block) in [
        (DType::Q4K, k4(q4_k::BYTES)),
        (DType::Q5K, k4(q5_k::BYTES)),
        (DType::Q6K, q6(0x00)),
        (DType::Q6K, q6(0xFF)),
    ] {
        let w: Vec<u8> = block.repeat(rows * k / 256);
        let matrix = WeightMatrix {
            dtype,
            rows,
            k,
            bytes: &w,
        };
        let packed = Interleaved::new(&matrix, SimdLevel::Avx512Vnni).expect("whole tiles");
        // One activation row (the decode kernels), six (the batch kernels) and 25 (Q6_K's
        // unpacked batch path, groups of four and one left over).
        for n in [1, 6, 25] {
            // Rows alternately all +1 and all −1: every quantized value ±127.
            let x: Vec<f32> = (0..n * k)
                .map(|i| if (i / k) % 2 == 0 { 1.0 } else { -1.0 })
                .collect();
            let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
            assert!(acts.row(n - 1).quants.iter().all(|&q| q.abs() == 127));
            let want = crate::cpu::dot::dot(Simd::scalar(), dtype, matrix.row(0), &acts.row(0));
            assert!(want.abs() > 1e5, "{dtype}: a large dot ({want})");
            for level in SimdLevel::available() {
                let simd = Simd::new(level).expect("listed as available");
                packed.matmul_tiles_with(simd, 0..rows / TILE_ROWS, &acts, |i, _, sums| {
                    let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
                    for &s in sums {
                        assert!(
                            (s - sign * want).abs() <= 1e-5 * want.abs(),
                            "{dtype} {level} act {i}: {s} vs {}",
                            sign * want
                        );
                    }
                });
            }
        }
    }
}
