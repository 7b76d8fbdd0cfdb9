#!/usr/bin/env python3
"""Regenerates blocks.json: GGML blocks and their values as decoded by the `gguf` Python
package (`gguf.quants.dequantize`), an implementation independent of ours.

Usage: pip install gguf numpy && python3 make_blocks.py [MODEL.gguf]

For every type we decode there are random blocks (scales drawn from a sensible range so
they are finite) and, when a GGUF file is given, a few real blocks taken from its tensors.
Values are stored as f32 bit patterns so the comparison is exact.
"""

import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

# Byte ranges of the f16 scale fields in each block layout (ggml-common.h).
F16_FIELDS = {
    T.Q4_0: [0],
    T.Q5_0: [0],
    T.Q8_0: [0],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
}
TYPES = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q5_0, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K]
RANDOM_BLOCKS = 3
REAL_BLOCKS = 2


def random_blocks(rng: np.random.Generator, qtype: T) -> np.ndarray:
    block, size = GGML_QUANT_SIZES[qtype]
    if qtype == T.F32:
        return rng.normal(0, 3, 32).astype(np.float32).view(np.uint8)
    if qtype == T.F16:
        special = np.array([0.0, -0.0, np.inf, -np.inf, 6e-8, -65504.0], dtype=np.float16)
        vals = np.concatenate([special, rng.normal(0, 3, 26).astype(np.float16)])
        return vals.view(np.uint8)
    if qtype == T.BF16:
        vals = rng.normal(0, 3, 32).astype(np.float32).view(np.uint32) >> 16
        return vals.astype(np.uint16).view(np.uint8)
    raw = rng.integers(0, 256, (RANDOM_BLOCKS, size), dtype=np.uint8)
    for at in F16_FIELDS[qtype]:
        scale = (rng.uniform(1e-4, 0.05, RANDOM_BLOCKS) * rng.choice([-1, 1], RANDOM_BLOCKS))
        raw[:, at : at + 2] = scale.astype(np.float16).view(np.uint8).reshape(RANDOM_BLOCKS, 2)
    return raw.reshape(-1)


def real_blocks(reader: GGUFReader, qtype: T) -> tuple[str, np.ndarray] | None:
    block, size = GGML_QUANT_SIZES[qtype]
    for t in reader.tensors:
        if t.tensor_type != qtype:
            continue
        flat = np.asarray(t.data).view(np.uint8).reshape(-1)
        n_blocks = flat.size // size
        picks = [0, n_blocks // 2][:REAL_BLOCKS]
        data = np.concatenate([flat[i * size : (i + 1) * size] for i in picks])
        return t.name, data
    return None


def case(qtype: T, source: str, data: np.ndarray) -> dict:
    block, size = GGML_QUANT_SIZES[qtype]
    values = dequantize(data.reshape(-1, size), qtype).astype(np.float32).reshape(-1)
    assert values.size == data.size // size * block
    return {
        "type": qtype.name,
        "source": source,
        "bytes": data.tobytes().hex(),
        "f32_bits": [f"{v:08x}" for v in values.view(np.uint32)],
    }


def main() -> None:
    rng = np.random.default_rng(20240601)
    reader = GGUFReader(sys.argv[1]) if len(sys.argv) > 1 else None
    cases = []
    for qtype in TYPES:
        cases.append(case(qtype, "random", random_blocks(rng, qtype)))
        if reader is not None and (real := real_blocks(reader, qtype)) is not None:
            name, data = real
            cases.append(case(qtype, name, data))
    out = Path(__file__).with_name("blocks.json")
    out.write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
