#!/usr/bin/env python3
"""Golden vectors for edgeplane's quantizers, made by the reference ggml publishes: the
`gguf` Python package (gguf-py), pinned in requirements.txt (gguf==0.17.1, numpy==2.1.3).

Rerun from the repository root (rewrites tests/vectors/*.bin and manifest.tsv):

    /work/venv/bin/python tests/vectors/generate.py
    # or: python3 -m venv v && v/bin/pip install -r tests/vectors/requirements.txt
    #     && v/bin/python tests/vectors/generate.py

Output is deterministic (fixed seed). Files are raw little-endian:
  <dtype>.blocks.bin      raw blocks (bytes as ggml stores them)
  <dtype>.dequant.f32     gguf.quants.dequantize of those blocks, f32
  <dtype>.input.f32       f32 inputs to quantize (only types gguf-py can quantize)
  <dtype>.quant.bin       gguf.quants.quantize of those inputs
manifest.tsv has one line per pair: kind, dtype name, element count, input file, output file.

Blocks for dequantization are random bytes with the scale fields (f16 d / dmin / m)
replaced by finite f16 values, drawn to include zero, subnormal, tiny, large and negative
scales. Quantizer inputs are random normals at several magnitudes plus edge blocks
(all zeros, constant, one spike, huge, tiny, negative only, exact half-step ties).
K-quants are decoded by gguf-py but not encoded, so they only get dequantization vectors.
"""

import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

OUT = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(20251125)

# name -> (qtype, number of blocks for dequantization vectors)
DEQUANT = {
    "f32": (T.F32, 256),
    "f16": (T.F16, 512),
    "bf16": (T.BF16, 512),
    "q4_0": (T.Q4_0, 48),
    "q4_1": (T.Q4_1, 48),
    "q5_0": (T.Q5_0, 48),
    "q5_1": (T.Q5_1, 48),
    "q8_0": (T.Q8_0, 48),
    "q2_K": (T.Q2_K, 12),
    "q3_K": (T.Q3_K, 12),
    "q4_K": (T.Q4_K, 12),
    "q5_K": (T.Q5_K, 12),
    "q6_K": (T.Q6_K, 12),
}

# Byte offsets of the f16 scale fields in each block layout (ggml's struct order).
F16_FIELDS = {
    "q4_0": [0],
    "q4_1": [0, 2],
    "q5_0": [0],
    "q5_1": [0, 2],
    "q8_0": [0],
    "q2_K": [80, 82],
    "q3_K": [108],
    "q4_K": [0, 2],
    "q5_K": [0, 2],
    "q6_K": [208],
}

QUANTIZE = {"f16": T.F16, "bf16": T.BF16, "q4_0": T.Q4_0, "q4_1": T.Q4_1,
            "q5_0": T.Q5_0, "q5_1": T.Q5_1, "q8_0": T.Q8_0}


def finite_f16(n: int) -> np.ndarray:
    """n finite f16 scales: mostly typical magnitudes, with edge values mixed in."""
    typical = (RNG.standard_normal(n) * 10.0 ** RNG.uniform(-4, 0, n)).astype(np.float16)
    edges = np.array([0.0, -0.0, 6e-8, -6e-8, 6.1e-5, 1e-3, -1.0, 1.0, 65504.0, -65504.0,
                      3.0e4, -2.0e-7], dtype=np.float16)
    pick = RNG.random(n) < 0.2
    typical[pick] = RNG.choice(edges, pick.sum())
    assert np.isfinite(typical).all()
    return typical


def dequant_blocks(name: str, qtype: T, n_blocks: int) -> np.ndarray:
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    if name == "f32":
        vals = RNG.standard_normal(n_blocks).astype(np.float32) * np.float32(3.0)
        vals[:8] = [0.0, -0.0, np.inf, -np.inf, 1e-45, -3.4e38, 1.17e-38, np.nan]
        return vals.view(np.uint8).reshape(n_blocks, 4)
    if name in ("f16", "bf16"):
        bits = RNG.integers(0, 1 << 16, n_blocks, dtype=np.uint16)
        if name == "f16":
            # Skip NaN patterns: NaN payload conversion is not part of the contract.
            nan = ((bits & 0x7C00) == 0x7C00) & ((bits & 0x03FF) != 0)
            bits[nan] &= 0xFC00 | 0x8000
            bits[nan] ^= 0x0400  # becomes a finite large value
        bits[:6] = [0x0000, 0x8000, 0x0001, 0x7C00 if name == "f16" else 0x7F80, 0x3C00, 0xFFFF if name == "bf16" else 0xBC00]
        return bits.view(np.uint8).reshape(n_blocks, 2)
    raw = RNG.integers(0, 256, (n_blocks, type_size), dtype=np.uint8)
    for off in F16_FIELDS[name]:
        raw[:, off:off + 2] = finite_f16(n_blocks).view(np.uint8).reshape(n_blocks, 2)
    raw[0, :] = 0  # an all-zero block
    return raw


# Float conversion edge cases, as f32 bit patterns: signed zeros, infinities, quiet NaN,
# the largest finite f32 (overflows both), rounding ties (even/odd), subnormals.
_COMMON_EDGES = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F7FFFFF,
                 0x00000001, 0x80000001, 0x3F808000, 0x3F818000, 0x3F80C000, 0x007FFFFF]
FLOAT_EDGES = {
    # f16: 65520 rounds to infinity, 65519 to 65504; 2^-25 ties to zero, 3*2^-25 to 2^-23.
    "f16": _COMMON_EDGES + [0x477FF000, 0x477FEF00, 0x33000000, 0x33C00000, 0x38800000,
                            0x3F801000, 0x3F803000],
    # bf16: signalling and negative NaNs must stay NaN (quiet bit forced).
    "bf16": _COMMON_EDGES + [0x7F800001, 0xFF800001, 0x7FBFFFFF, 0xFFC00000, 0x3F7FFFFF,
                             0x3F7F8000, 0xC0497FFF],
}


def quant_inputs(block_size: int, n_blocks: int) -> np.ndarray:
    scale = 10.0 ** RNG.uniform(-3, 2, (n_blocks, 1))
    x = (RNG.standard_normal((n_blocks, block_size)) * scale).astype(np.float32)
    x[0] = 0.0
    x[1] = 0.75
    x[2] = 0.0
    x[2, 5] = -3.5
    x[3] = np.abs(x[3]) * 1e4
    x[4] = x[4] * np.float32(1e-20)
    x[5] = -np.abs(x[5])
    x[6] = np.abs(x[6]) + 1.0
    # Ties: integer steps and half steps of a scale that maps the extreme exactly.
    x[7] = (np.arange(block_size) % 17 - 8).astype(np.float32) * np.float32(0.5)
    x[8] = (np.arange(block_size) % 33 - 16).astype(np.float32) * np.float32(0.25) + np.float32(0.125)
    return x.reshape(-1)


def write(path: str, data: np.ndarray) -> None:
    with open(os.path.join(OUT, path), "wb") as f:
        f.write(np.ascontiguousarray(data).tobytes())


def main() -> None:
    lines = []
    for name, (qtype, n_blocks) in DEQUANT.items():
        block_size, _ = GGML_QUANT_SIZES[qtype]
        raw = dequant_blocks(name, qtype, n_blocks)
        if name == "f32":
            out = raw.reshape(-1).view(np.float32)
        elif name == "f16":
            out = raw.reshape(-1).view(np.float16).astype(np.float32)
        else:
            out = quants.dequantize(raw.reshape(-1), qtype)
        out = np.asarray(out, dtype=np.float32).reshape(-1)
        assert out.size == n_blocks * block_size
        write(f"{name}.blocks.bin", raw)
        write(f"{name}.dequant.f32", out.astype("<f4"))
        lines.append(f"dequantize\t{name}\t{out.size}\t{name}.blocks.bin\t{name}.dequant.f32")
    for name, qtype in QUANTIZE.items():
        block_size, _ = GGML_QUANT_SIZES[qtype]
        n_blocks = 16 if block_size == 32 else 512
        x = quant_inputs(block_size if block_size > 1 else 32, n_blocks // (1 if block_size > 1 else 32) or 1)
        if block_size == 1:
            x[-len(FLOAT_EDGES[name]):] = np.array(FLOAT_EDGES[name], dtype=np.uint32).view(np.float32)
        with np.errstate(all="ignore"):
            q = quants.quantize(x, qtype)
        q = np.ascontiguousarray(q).view(np.uint8).reshape(-1)
        write(f"{name}.input.f32", x.astype("<f4"))
        write(f"{name}.quant.bin", q)
        lines.append(f"quantize\t{name}\t{x.size}\t{name}.input.f32\t{name}.quant.bin")
    with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
        f.write("# kind\tdtype\telements\tinput\toutput\n")
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT))
    print(f"wrote {len(lines)} vector pairs, {total} bytes in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
