#!/usr/bin/env python3
"""Writes golden.json: chat prompts rendered from a GGUF file's own chat template with
jinja2, set up as `transformers` sets it up for `apply_chat_template`, and the ids llama.cpp
tokenizes each prompt into (special-token text parsed, no BOS).

Usage: pip install llama-cpp-python jinja2 && python3 make_golden.py MODEL.gguf
"""

import json
import sys
from pathlib import Path

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from llama_cpp import Llama

CASES = [
    {
        "messages": [
            {"role": "system", "content": "Extract the invoice fields as JSON."},
            {"role": "user", "content": "INVOICE #17\nTotal: €104.02\nDue: 2024-04-14"},
        ],
        "add_generation_prompt": True,
    },
    {
        "messages": [{"role": "user", "content": "Hi! 你好 👋"}],
        "add_generation_prompt": True,
    },
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "{\"answer\": 4}"},
            {"role": "user", "content": "  And 3+3?\n\n"},
        ],
        "add_generation_prompt": False,
    },
]


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def main() -> None:
    llm = Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
    source = llm.metadata["tokenizer.chat_template"]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(source)
    out = []
    for case in CASES:
        rendered = template.render(bos_token="<|endoftext|>", eos_token="<|im_end|>", **case)
        ids = llm.tokenize(rendered.encode(), add_bos=False, special=True)
        out.append({**case, "rendered": rendered, "ids": ids})
    path = Path(__file__).with_name("golden.json")
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {len(out)} prompts to {path}")


if __name__ == "__main__":
    main()
