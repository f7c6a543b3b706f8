#!/usr/bin/env bash
# make bench: build release binaries, then bench/run.py starts every stack it measures (quick
# start; PostgreSQL stack with two relays over Redis; NATS), runs the scenarios with
# crates/loadgen and writes docs/benchmarks.{md,json}; bench/search.py then measures search
# (docs/benchmarks-search.{md,json}). BENCH_QUICK=1: a short smoke pass.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$(pwd)/target}

need() { command -v "$1" >/dev/null || { echo "bench: installing $2"; apt-get install -y "$2" >/dev/null; }; }
need nats-server nats-server
need pgbench postgresql-contrib
need perf linux-perf

# 20,000 client sockets in the load generator and as many in the relay: each process needs
# more descriptors than the usual 1,024 (or this machine's 20,000).
ulimit -n 200000 2>/dev/null || { ulimit -n "$(ulimit -Hn)"; echo "bench: open files capped at $(ulimit -n) per process"; }

cargo build --release -p auth-service -p chat-service -p ws-relay -p cloudchat -p loadgen
# BENCH_ONLY=search (make bench-search): only bench/search.py, the full-text search figures
# (docs/benchmarks-search.{md,json}); otherwise bench/run.py, then bench/search.py.
if [ "${BENCH_ONLY:-}" = search ]; then
    exec python3 bench/search.py --bin-dir "$target/release" "$@"
fi
python3 bench/run.py --bin-dir "$target/release" "$@"
exec python3 bench/search.py --bin-dir "$target/release"
