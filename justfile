# Common tasks. `just --list` shows them.

default: test

# Run the service on the default model (downloaded on first use).
serve *ARGS:
    cargo run --release -p strictly-cli -- serve {{ARGS}}

# The test suite (the same command CI runs).
test:
    cargo test --workspace

fmt:
    cargo fmt --all

lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Download and verify the default model into the cache.
model:
    cargo run --release -p strictly-cli -- model pull

bench:
    cargo run --release -p strictly-cli -- bench

# MaskBench over a directory; fails when a file does worse than recorded
# in the ratchet file, and records improvements.
maskbench DIR="../shared/maskbench/dev":
    cargo run --release -p strictly-cli -- maskbench {{DIR}} --ratchet crates/strictly-grammar/maskbench/dev-expected.json

ci:
    bash .ci/run

# Stable fuzz loops from the checked-in corpus (crates/strictly-fuzz):
# ten minutes per target by default; findings' inputs land in
# target/fuzz-findings.
fuzz TARGETS="schema gguf csv http" SECONDS="600":
    cargo run --release -p strictly-fuzz -- {{TARGETS}} --seconds {{SECONDS}}
