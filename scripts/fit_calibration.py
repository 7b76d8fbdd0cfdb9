#!/usr/bin/env python3
"""Fit the map from the model's probability to a calibrated confidence.

usage: scripts/fit_calibration.py --set NAME:ANSWERS_DIR:FIELDS_JSON [--set ...]
                                  [--cases DIR] [--out crates/strictly-engine/calibration.json]

Each set is a run of `/v1/extract` over a folder of development cases
(`../shared/extraction-dev/<NAME>`): ANSWERS_DIR/<id>.json holds each
answer's `data`, FIELDS_JSON maps each case id to the answer's `fields`.
A value is right when the set's scorer (`score.py -v`) does not list its
top-level field as wrong.

The fit: isotonic regression (pool-adjacent-violators) of right/wrong on
`probability` for values found in the document (`exact`, `normalized`);
for `fuzzy` and `not_found` values, their share of right answers (with one
right and one wrong added, so small counts stay away from 0 and 1). Reported:
expected calibration error (10 bins) and AUROC on cases the map was not
fitted on (two folds, split by case id), then the map fitted on all cases
is written to --out.
"""
import argparse, hashlib, json, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load(cases_root, spec):
    name, answers, fields_file = spec.split(":")
    cases = os.path.join(cases_root, name)
    scorer = os.path.join(cases_root, "score.py")
    out = subprocess.run([sys.executable, scorer, cases, answers, "-v"], capture_output=True, text=True).stdout
    wrong = set(re.findall(r"^WRONG (\S+) (\w+):", out, re.M))
    rows = []
    for cid, fields in json.load(open(fields_file)).items():
        for pointer, f in fields.items():
            top = pointer.split("/")[1]
            rows.append({"set": name, "case": cid, "status": f["status"],
                         "p": f.get("probability", f["confidence"]), "right": (cid, top) not in wrong})
    return rows


def pav(points):
    """Isotonic fit of (x, y) pairs: blocks of (mean x, mean y), non-decreasing in y."""
    blocks = []
    for x, y in sorted(points):
        blocks.append([x, y, 1])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            x2, y2, n2 = blocks.pop()
            blocks[-1][0] += x2; blocks[-1][1] += y2; blocks[-1][2] += n2
    return [(round(bx / n, 4), round(by / n, 4)) for bx, by, n in blocks]


def fit(rows):
    found = [(r["p"], 1.0 if r["right"] else 0.0) for r in rows if r["status"] in ("exact", "normalized")]
    rate = lambda st: round((sum(r["right"] for r in rows if r["status"] == st) + 1)
                            / (sum(r["status"] == st for r in rows) + 2), 4)
    return {"points": pav(found), "fuzzy": rate("fuzzy"), "not_found": rate("not_found")}


def apply(cal, r):
    if r["status"] == "not_found":
        return cal["not_found"]
    pts = cal["points"]
    p = r["p"]
    if p <= pts[0][0]:
        c = pts[0][1]
    elif p >= pts[-1][0]:
        c = pts[-1][1]
    else:
        c = next(a[1] + (b[1] - a[1]) * (p - a[0]) / (b[0] - a[0])
                 for a, b in zip(pts, pts[1:]) if a[0] <= p <= b[0])
    return min(c, cal["fuzzy"]) if r["status"] == "fuzzy" else c


def ece(pairs):
    bins = [[] for _ in range(10)]
    for c, y in pairs:
        bins[min(int(c * 10), 9)].append((c, y))
    n = len(pairs)
    return sum(len(b) / n * abs(sum(y for _, y in b) / len(b) - sum(c for c, _ in b) / len(b)) for b in bins if b)


def auroc(pairs):
    pos = [c for c, y in pairs if y]; neg = [c for c, y in pairs if not y]
    if not pos or not neg:
        return float("nan")
    return sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", action="append", required=True)
    ap.add_argument("--cases", default=os.path.join(HERE, "..", "..", "shared", "extraction-dev"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "crates", "strictly-engine", "calibration.json"))
    a = ap.parse_args()
    rows = [r for spec in a.set for r in load(a.cases, spec)]
    fold = lambda r: int(hashlib.sha256(r["case"].encode()).hexdigest(), 16) % 2
    held = []
    for k in (0, 1):
        cal = fit([r for r in rows if fold(r) != k])
        held += [(apply(cal, r), r["right"]) for r in rows if fold(r) == k]
    raw = [(r["p"], r["right"]) for r in rows]
    print(f"{len(rows)} values, {sum(r['right'] for r in rows)} right")
    print(f"raw probability: ECE {ece(raw):.3f}, AUROC {auroc(raw):.3f}")
    print(f"calibrated, held out (2 folds by case): ECE {ece(held):.3f}, AUROC {auroc(held):.3f}")
    for name in sorted({r["set"] for r in rows}):
        sub = [(c, y) for (c, y), r in zip(held, [r for k in (0, 1) for r in rows if fold(r) == k]) if r["set"] == name]
        print(f"  {name}: {len(sub)} values, ECE {ece(sub):.3f}, AUROC {auroc(sub):.3f}")
    cal = fit(rows)
    cal["fitted_on"] = {name: sum(r["set"] == name for r in rows) for name in sorted({r["set"] for r in rows})}
    points = ",\n".join(f"  [{x}, {y}]" for x, y in cal["points"])
    text = json.dumps({k: v for k, v in cal.items() if k != "points"}, indent=1)
    with open(a.out, "w") as f:
        f.write(text[:-2] + ',\n "points": [\n' + points + "\n ]\n}\n")
    print("wrote", a.out)


if __name__ == "__main__":
    main()
