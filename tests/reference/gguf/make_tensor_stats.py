#!/usr/bin/env python3
"""Writes tensor_stats.json: facts about the default GGUF model read by the `gguf` Python
package (an independent reader): metadata, the tensor table, and for a few tensors of every
type, sampled values and the sum of all values after dequantization.

Usage: pip install gguf numpy && python3 make_tensor_stats.py MODEL.gguf
"""

import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

SAMPLES = 16
PER_TYPE = 2


def main() -> None:
    reader = GGUFReader(sys.argv[1])
    by_type = {}
    table = []
    for t in reader.tensors:
        table.append({"name": t.name, "type": t.tensor_type.name, "dims": [int(d) for d in t.shape]})
        by_type.setdefault(t.tensor_type.name, []).append(t)
    picked = []
    for name, tensors in sorted(by_type.items()):
        # The first tensors of each type, plus the largest one.
        chosen = tensors[:PER_TYPE] + [max(tensors, key=lambda t: t.n_elements)]
        seen = set()
        for t in chosen:
            if t.name in seen:
                continue
            seen.add(t.name)
            values = dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32).reshape(-1)
            stride = max(1, values.size // SAMPLES)
            idx = list(range(0, values.size, stride))[:SAMPLES] + [values.size - 1]
            picked.append(
                {
                    "name": t.name,
                    "type": name,
                    "n_elems": int(values.size),
                    "indices": idx,
                    "f32_bits": [f"{v:08x}" for v in values[idx].view(np.uint32)],
                    "sum": float(values.astype(np.float64).sum()),
                    "abs_sum": float(np.abs(values.astype(np.float64)).sum()),
                }
            )
    meta = {}
    for key in ["general.architecture", "qwen2.block_count", "qwen2.embedding_length",
                "qwen2.attention.head_count", "qwen2.attention.head_count_kv",
                "qwen2.rope.freq_base", "general.alignment"]:
        if key in reader.fields:
            f = reader.fields[key]
            v = f.contents()
            meta[key] = v
    out = {"metadata": meta, "tensors": table, "samples": picked}
    path = Path(__file__).with_name("tensor_stats.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(table)} tensors, {len(picked)} sampled -> {path}")


if __name__ == "__main__":
    main()
