#!/usr/bin/env python3
"""Writes ids.json: the token ids llama.cpp produces for every text in corpus.json, from the
tokenizer stored in a GGUF file, both with special-token text parsed (`special`) and left as
text (`plain`). No BOS is added.

Usage: pip install llama-cpp-python && python3 make_ids.py MODEL.gguf
"""

import json
import sys
from pathlib import Path

from llama_cpp import Llama


def main() -> None:
    here = Path(__file__).parent
    texts = json.loads((here / "corpus.json").read_text())
    llm = Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
    cases = []
    for text in texts:
        raw = text.encode()
        cases.append(
            {
                "text": text,
                "special": llm.tokenize(raw, add_bos=False, special=True),
                "plain": llm.tokenize(raw, add_bos=False, special=False),
            }
        )
    (here / "ids.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote ids for {len(cases)} texts")


if __name__ == "__main__":
    main()
