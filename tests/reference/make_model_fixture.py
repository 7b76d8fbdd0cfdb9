#!/usr/bin/env python3
"""Regenerates model_fixture.json: reference logits and greedy continuations
of the default GGUF model, computed by llama.cpp (llama-cpp-python), an
implementation independent of this repository.

For each fixed chat prompt it records the prompt's token ids, the top-20
logits at the last prompt position, and a greedy 32-token continuation with
the gap between the two best logits at every step (a step whose gap is tiny
may legitimately pick the other token under a different implementation).

Usage: python3 make_model_fixture.py [MODEL.gguf] [OUT.json]
Needs: llama-cpp-python (tested with 0.3.36) and numpy.
"""

import json
import os
import sys

import numpy as np
from llama_cpp import Llama

TOP_K = 20
GREEDY = 32
SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def chat(user: str) -> str:
    """The model's own chat template (Qwen2.5), rendered for one user turn."""
    return (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"
        f"<|im_start|>user\n{user}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def long_document() -> str:
    """A deterministic document of well over 1,000 tokens."""
    parts = ["Extract every shipment from the following logistics report as JSON.\n"]
    cities = ["Lisbon", "Osaka", "Nairobi", "Toronto", "Lyon", "Perth", "Quito", "Oslo"]
    goods = ["copper wire", "coffee beans", "bicycle frames", "solar panels", "wool"]
    for i in range(24):
        src = cities[i % len(cities)]
        dst = cities[(i * 3 + 1) % len(cities)]
        item = goods[i % len(goods)]
        parts.append(
            f"Shipment {i + 1}: {(i * 37) % 500 + 20} crates of {item} left {src} on "
            f"2024-{(i % 12) + 1:02d}-{(i * 7) % 28 + 1:02d} bound for {dst}; the carrier "
            f"reported a delay of {(i * 5) % 9} days and a declared value of "
            f"${(i * 1234) % 90000 + 1000}.\n"
        )
    parts.append("Return a JSON array with fields id, origin, destination, goods, crates.")
    return "".join(parts)


PROMPTS = {
    "capital": chat("What is the capital of France? Answer in one sentence."),
    "json_person": chat(
        "Extract the person as JSON with keys name and age: "
        "'Maria Gonzalez, 34, works as a nurse in Seville.'"
    ),
    "code": chat("Write a Python function that returns the n-th Fibonacci number."),
    "long_report": chat(long_document()),
}


def top_k(logits: np.ndarray, k: int):
    idx = np.argsort(-logits, kind="stable")[:k]
    return [[int(i), float(logits[i])] for i in idx]


def main() -> None:
    default = os.path.expanduser(
        "~/.cache/strictly/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    )
    model_path = sys.argv[1] if len(sys.argv) > 1 else default
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "model_fixture.json"
    )
    llm = Llama(
        model_path=model_path,
        n_ctx=2048,
        n_batch=512,
        n_threads=2,
        logits_all=True,
        verbose=False,
    )
    cases = []
    for name, text in PROMPTS.items():
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(tokens)
        last = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        greedy, gaps = [], []
        logits = last
        for _ in range(GREEDY):
            order = np.argsort(-logits, kind="stable")[:2]
            greedy.append(int(order[0]))
            gaps.append(float(logits[order[0]] - logits[order[1]]))
            llm.eval([int(order[0])])
            logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        cases.append(
            {
                "name": name,
                "prompt": text,
                "tokens": [int(t) for t in tokens],
                "top": top_k(last, TOP_K),
                "greedy": greedy,
                "greedy_top2_gap": gaps,
            }
        )
        print(f"{name}: {len(tokens)} prompt tokens, greedy {llm.detokenize(greedy)!r}")
    fixture = {
        "model": os.path.basename(model_path),
        "reference": "llama.cpp via llama-cpp-python",
        "top_k": TOP_K,
        "cases": cases,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
