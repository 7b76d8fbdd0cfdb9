#!/usr/bin/env python3
"""Writes small GGUF files into seeds/gguf as starting points for the fuzzer: every
metadata value type, a toy gpt2 tokenizer with a chat template, and one tensor of each
type the reader decodes.

Usage: pip install gguf numpy && python3 make_seeds.py
"""

from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFWriter
from gguf.constants import GGML_QUANT_SIZES

OUT = Path(__file__).parent / "seeds" / "gguf"


def write(name: str, fill) -> None:
    path = OUT / f"{name}.gguf"
    w = GGUFWriter(str(path), arch="qwen2")
    fill(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(path, path.stat().st_size)


def metadata(w: GGUFWriter) -> None:
    w.add_uint8("u8", 1)
    w.add_int8("i8", -1)
    w.add_uint16("u16", 2)
    w.add_int16("i16", -2)
    w.add_uint32("u32", 3)
    w.add_int32("i32", -3)
    w.add_float32("f32", 0.5)
    w.add_bool("bool", True)
    w.add_string("str", "héllo")
    w.add_array("arr", [1, 2, 3])
    w.add_array("strs", ["a", "bc"])
    w.add_uint64("u64", 4)
    w.add_int64("i64", -4)
    w.add_float64("f64", 0.25)


def tokenizer(w: GGUFWriter) -> None:
    chars = [chr(c) for c in range(ord("a"), ord("e"))] + ["Ġ"]
    tokens = chars + ["ab", "<|im_start|>", "<|im_end|>", "[PAD9]"]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types([1] * (len(chars) + 1) + [3, 3, 5])
    w.add_token_merges(["a b"])
    w.add_eos_token_id(7)
    w.add_chat_template("{% for m in messages %}{{ m.role }}{% endfor %}{{ eos_token }}")


def tensors(w: GGUFWriter) -> None:
    rng = np.random.default_rng(0)
    w.add_tensor("f32", rng.normal(size=(2, 4)).astype(np.float32))
    w.add_tensor("f16", rng.normal(size=(4,)).astype(np.float16))
    for qtype in [T.Q4_0, T.Q5_0, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K, T.BF16]:
        block, size = GGML_QUANT_SIZES[qtype]
        n_bytes = size if block > 1 else 4 * size
        raw = rng.integers(0, 256, size=n_bytes, dtype=np.uint8)
        # For quantized types the writer takes the shape in bytes.
        w.add_tensor(f"blk.0.{qtype.name.lower()}", raw, raw_shape=(n_bytes,), raw_dtype=qtype)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write("metadata", metadata)
    write("tokenizer", tokenizer)
    write("tensors", tensors)


if __name__ == "__main__":
    main()
