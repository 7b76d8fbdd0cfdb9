#!/usr/bin/env bash
# Rows per second of `strictly batch` on a 100-row CSV made of the example
# documents (examples/*/document.txt, in turn), at concurrency 1 and 4.
# Each row uses the schema of its document type, so the run is split by
# type: one CSV and one batch run per type, and the figure is total rows
# over total time.
#
#   [ROWS=100] scripts/bench_batch.sh [path/to/strictly]   (default: target/release/strictly)
set -euo pipefail
cd "$(dirname "$0")/.."
STRICTLY="${1:-target/release/strictly}"
ROWS="${ROWS:-100}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mapfile -t types < <(ls examples | while read -r t; do [ -f "examples/$t/document.txt" ] && echo "$t"; done)
# Rows per type, so that the types add up to $ROWS.
for i in "${!types[@]}"; do
  t="${types[$i]}"
  n=$(( ROWS / ${#types[@]} + (i < ROWS % ${#types[@]} ? 1 : 0) ))
  python3 - "$t" "$n" "$work/$t.csv" <<'PY'
import csv, sys
t, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
doc = open(f"examples/{t}/document.txt", encoding="utf-8").read()
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "body"])
    for i in range(n):
        w.writerow([f"{t}-{i}", doc])
PY
done

for c in 1 4; do
  start=$(date +%s.%N)
  for t in "${types[@]}"; do
    "$STRICTLY" batch --input "$work/$t.csv" --schema "schemas/$t.schema.json" \
      --text-column body --id-column id --output "$work/$t-c$c.jsonl" --concurrency "$c" \
      2> "$work/$t-c$c.log"
  done
  end=$(date +%s.%N)
  rows=$(cat "$work"/*-c$c.jsonl | wc -l)
  failed=$(cat "$work"/*-c$c.jsonl | grep -c '"error"' || true)
  python3 -c "import sys; r, f, s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]); print(f'concurrency {sys.argv[4]}: {r} rows ({f} failed) in {s:.1f}s = {r/s:.3f} rows/s')" \
    "$rows" "$failed" "$(python3 -c "print($end - $start)")" "$c"
done
