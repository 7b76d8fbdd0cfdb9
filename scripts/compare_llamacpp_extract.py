#!/usr/bin/env python3
"""Extraction of examples/ by strictly and by llama.cpp's JSON-schema mode on
the same GGUF, the same prompt and greedy decoding, scored the same way.

strictly is reached over HTTP (start `strictly serve` first); llama.cpp runs
in this process through llama-cpp-python, with the same thread count. The two
run one document after the other, so the machine's load affects both alike.

Usage: python3 scripts/compare_llamacpp_extract.py [--url http://127.0.0.1:8080]
          [--model MODEL.gguf] [--threads 2] [--max-tokens 1024] [--warm] [--json]
          [--strictly-only]

With --warm, each engine first extracts an unrelated short document with
the same schema (untimed), as a service that has seen the schema before
would have: strictly keeps the schema's prompt prefix in its prefix cache,
llama.cpp reuses the prompt prefix it shares with the previous request.

Per document it prints the wall time, completion tokens, whether the answer
is valid against the schema, and the field-level accuracy against
expected.json (share of expected leaves found with the same value: numbers
within 0.01, strings compared case- and whitespace-insensitively; the same
scorer as the end-to-end tests).
"""

import argparse
import json
import os
import statistics
import time
import urllib.request
from pathlib import Path

import jsonschema
from llama_cpp import Llama

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["invoice", "receipt", "job_posting", "support_email", "resume", "contract_parties"]

# Kept equal to DEFAULT_INSTRUCTIONS in crates/strictly-engine/src/prompt.rs so
# both engines see the same prompt.
INSTRUCTIONS = (
    "You extract structured data from the document the user sends. "
    "Answer with one JSON value that matches the JSON Schema below. "
    "Copy names, numbers and dates exactly as the document states them. "
    "Leave out optional fields the document does not mention; never invent values."
)


def leaves(value, path, out):
    if isinstance(value, dict):
        for k, v in value.items():
            leaves(v, f"{path}/{k}", out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            leaves(v, f"{path}/{i}", out)
    else:
        out.append((path, value))


def pointer(value, path):
    for part in path.split("/")[1:]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None, False
    return value, True


def same(a, b):
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        return abs(a - b) < 0.01
    if isinstance(a, str) and isinstance(b, str):
        norm = lambda s: " ".join(s.strip().lower().split())
        return norm(a) == norm(b)
    return a == b


def field_accuracy(expected, actual):
    want = []
    leaves(expected, "", want)
    hit = 0
    for path, v in want:
        got, found = pointer(actual, path)
        if found and same(v, got):
            hit += 1
    return hit / max(len(want), 1)


def strictly_extract(url, document, schema, max_tokens):
    body = json.dumps(
        {"document": document, "schema": schema, "options": {"max_tokens": max_tokens}}
    ).encode()
    req = urllib.request.Request(
        f"{url}/v1/extract", data=body, headers={"content-type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as resp:
        out = json.load(resp)
    wall = time.perf_counter() - start
    return out["data"], out["usage"]["completion_tokens"], wall


def llama_extract(llm, document, schema, max_tokens):
    system = f"{INSTRUCTIONS}\n\nJSON Schema:\n{json.dumps(schema, separators=(',', ':'), ensure_ascii=False)}"
    start = time.perf_counter()
    out = llm.create_chat_completion(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": document}],
        response_format={"type": "json_object", "schema": schema},
        temperature=0.0,
        max_tokens=max_tokens,
    )
    wall = time.perf_counter() - start
    text = out["choices"][0]["message"]["content"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    return data, out["usage"]["completion_tokens"], wall


def main():
    default = os.path.expanduser("~/.cache/strictly/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--model", default=default)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=1024)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--warm", action="store_true")
    ap.add_argument("--strictly-only", action="store_true", help="skip llama.cpp (compare strictly's settings)")
    args = ap.parse_args()

    llm = None
    if not args.strictly_only:
        llm = Llama(model_path=args.model, n_ctx=4096, n_threads=args.threads, verbose=False)
    engines = ["strictly"] if llm is None else ["strictly", "llama.cpp"]
    rows = []
    for name in EXAMPLES:
        schema = json.loads((ROOT / f"schemas/{name}.schema.json").read_text())
        expected = json.loads((ROOT / f"examples/{name}/expected.json").read_text())
        document = (ROOT / f"examples/{name}/document.txt").read_text()
        row = {"document": name}
        if args.warm:
            filler = "Nothing to report today."
            strictly_extract(args.url, filler, schema, args.max_tokens)
            if llm is not None:
                llama_extract(llm, filler, schema, args.max_tokens)
        runs = {
            "strictly": lambda: strictly_extract(args.url, document, schema, args.max_tokens),
            "llama.cpp": lambda: llama_extract(llm, document, schema, args.max_tokens),
        }
        for engine in engines:
            run = runs[engine]
            data, tokens, wall = run()
            valid = data is not None and jsonschema.Draft202012Validator(schema).is_valid(data)
            row[engine] = {
                "wall_s": round(wall, 2),
                "completion_tokens": tokens,
                "valid": valid,
                "accuracy": round(field_accuracy(expected, data) if data is not None else 0.0, 3),
            }
        rows.append(row)
        if not args.json:
            line = " | ".join(
                f"{e} {row[e]['wall_s']:6.1f} s {row[e]['completion_tokens']:4} tok "
                f"acc {row[e]['accuracy']:.2f} valid {row[e]['valid']}"
                for e in engines
            )
            print(f"{name:18} {line}", flush=True)

    summary = {}
    for engine in engines:
        summary[engine] = {
            "median_wall_s": round(statistics.median(r[engine]["wall_s"] for r in rows), 2),
            "total_wall_s": round(sum(r[engine]["wall_s"] for r in rows), 2),
            "mean_accuracy": round(statistics.mean(r[engine]["accuracy"] for r in rows), 3),
            "valid": sum(r[engine]["valid"] for r in rows),
        }
    if llm is not None:
        summary["wall_ratio"] = round(
            summary["strictly"]["total_wall_s"] / max(summary["llama.cpp"]["total_wall_s"], 1e-9), 3
        )
    if args.json:
        print(json.dumps({"documents": rows, "summary": summary}))
    else:
        print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
