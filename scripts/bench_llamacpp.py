#!/usr/bin/env python3
"""llama.cpp's speed on the same GGUF file, measured the way `strictly bench`
measures (same synthetic prompts, 2 threads by default), so the two can be
run back to back and compared as a ratio.

Usage: python3 scripts/bench_llamacpp.py [MODEL.gguf] [--threads N]
Prints {"prefill_tokens_per_s": {"512": x}, "decode_tokens_per_s": {"1": y},
"peak_rss_mib": z}. Needs llama-cpp-python.
"""

import argparse
import json
import os
import resource
import time

from llama_cpp import Llama


def synthetic_tokens(n: int, seed: int) -> list:
    """The same ids `strictly bench` uses."""
    return [(i * 7919 + seed * 104729) % 150000 + 10 for i in range(n)]


def main() -> None:
    default = os.path.expanduser(
        "~/.cache/strictly/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    )
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=default)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prefill", type=int, default=512)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--context", type=int, default=128)
    args = ap.parse_args()
    llm = Llama(
        model_path=args.model,
        n_ctx=4096,
        n_batch=512,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        verbose=False,
    )
    llm.eval(synthetic_tokens(16, 1))  # warm-up

    llm.reset()
    tokens = synthetic_tokens(args.prefill, 1)
    started = time.perf_counter()
    llm.eval(tokens)
    prefill = args.prefill / (time.perf_counter() - started)

    llm.reset()
    llm.eval(synthetic_tokens(args.context, 2))
    started = time.perf_counter()
    for _ in range(args.steps):
        logits = llm.scores[llm.n_tokens - 1]
        llm.eval([int(logits.argmax())])
    decode = args.steps / (time.perf_counter() - started)

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "threads": args.threads,
                "prefill_tokens_per_s": {str(args.prefill): round(prefill, 1)},
                "decode_tokens_per_s": {"1": round(decode, 1)},
                "peak_rss_mib": round(rss, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
