#!/usr/bin/env python3
"""Writes corpus.json, the texts the tokenizer is checked on. Kept as a script so that the
escapes below (control characters, odd spaces, combining marks) stay readable."""

import json
from pathlib import Path

DOCUMENT = """INVOICE #2024-0117
Date: 2024-03-15    Due: 2024-04-14

Bill to: Müller & Søn GmbH, Königstraße 12, 70173 Stuttgart
Ship to: 東京都港区六本木 6-10-1

Item                     Qty    Unit price     Total
-----------------------------------------------------
Widget (blue)              3      €12.50       €37.50
Gadget "Pro" v2.1         10      €4.99        €49.90
Ünïcödé sërvïcé fee        1      €0.01         €0.01

Subtotal: €87.41\tVAT (19%): €16.61\tTotal: €104.02

Notes:\r\n  - Pay within 30 days.\r\n  - Questions? mail billing@example.com
"""

CASES = [
    # plain English, contractions (the pattern matches them case-insensitively)
    "Hello, world!",
    "the quick brown fox jumps over the lazy dog",
    "I'm sure we'll see they've done what you'd've said it's",
    "I'M SURE WE'LL SEE THEY'VE DONE IT'S Don'T",
    "'s 'S 'll 'Ll 're ' s",
    # whitespace runs
    "a  b   c    d",
    "  leading and trailing  ",
    "tabs\tand\t\tmore\t\t\ttabs",
    "line\nbreak\n\nparagraph\n\n\n\nend\n",
    "windows\r\nline\r\n\r\nends\r",
    "space before newline   \n   after",
    "\n\n\n",
    " ",
    "                                                                ",
    "\t \t \n \t",
    "nbsp\u00a0here and\u2009thin\u3000ideographic\u2028line sep",
    "vertical\x0btab form\x0cfeed",
    # numbers
    "0 1 12 123 1234 12345 123456789012345678901234567890",
    "3.14159 -2.5e-10 1,234,567.89 0x1F 0b1010 1_000_000",
    "v1.2.3-rc.4+build.567",
    "2024-03-15T12:34:56.789Z",
    "٠١٢٣٤٥ ０１２３ ½ ² ⅷ",
    # code
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    'fn main() {\n\tlet v: Vec<u32> = (0..10).map(|x| x * x).collect();\n\tprintln!("{v:?}");\n}',
    '{"name": "Alice", "age": 30, "tags": ["a", "b"], "nested": {"k": null, "ok": true}}',
    "<div class=\"x\">&amp;&lt;tag&gt;</div><!-- comment -->",
    "SELECT * FROM users WHERE id = 42 AND name LIKE '%o''brien%';",
    "x+=1;y-=2;z*=3;w/=4;a&&b||!c;p->q;r=>s;t::u;",
    "    \t// mixed indentation\n  \t  /* and */",
    "#!/usr/bin/env bash\nset -euo pipefail\necho \"$HOME\" | tr a-z A-Z\n",
    "$$ \\frac{a}{b} = \\sum_{i=0}^{n} x_i^2 $$",
    # Unicode scripts
    "Ünïcödé çàñ bé ŧřïçķý: ﬁ ﬂ ß ẞ",
    "e\u0301 vs \u00e9, a\u0308 vs \u00e4, n\u0303",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "Γειά σου Κόσμε· αβγδεζηθ",
    "مرحبا بالعالم، هذا نص عربي.",
    "שלום עולם",
    "नमस्ते दुनिया, यह हिंदी है।",
    "สวัสดีชาวโลก",
    "안녕하세요 세계! 한국어 텍스트입니다.",
    # CJK
    "你好，世界！这是一个测试。",
    "我爱自然语言处理和机器学习，尤其是大型语言模型。",
    "日本語のテキスト：ひらがな、カタカナ、漢字を含みます。",
    "中文English混合text測試123",
    "「引用」『二重』（括弧）【見出し】",
    # emoji
    "😀😃😄😁 smile",
    "👍🏽 👩‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 🇯🇵🇺🇸",
    "I ❤️ Rust 🦀 and Python 🐍!!!",
    "✓ ✗ → ← ↔ ∀x∈ℝ: x² ≥ 0 ∞ ≠ ≈",
    # symbols and punctuation runs
    "!!!??? ... --- *** ### @@@ $$$ %%%",
    "«quotes» „German“ “smart” ‘single’ — en–dash …",
    "\\ \\\\ / // | || ~ ` ^",
    "a\x00b\x01c\x7f",
    # special tokens
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "text<|im_end|>more<|endoftext|>end",
    "<|im_start|><|im_start|><|im_end|>",
    "<tool_call>\n{\"name\": \"f\"}\n</tool_call>",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "<|im_end <|im_end| |im_end|> <im_end>",
    "[PAD151665] [PAD151935]",
    # a longer document
    DOCUMENT,
]


def main() -> None:
    out = Path(__file__).with_name("corpus.json")
    out.write_text(json.dumps(CASES, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {len(CASES)} texts to {out}")


if __name__ == "__main__":
    main()
