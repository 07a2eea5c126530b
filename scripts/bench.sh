#!/usr/bin/env bash
# The benchmark: time from "run" to output, side by side with a plain keep-alive HTTP client and
# LangChain's SessionsPythonREPLTool, against loopback fakes of Azure (never any other address),
# over plain HTTP and over TLS (an HTTPS fake pool with a CA made for the run).
# Prints one table and rewrites it in docs/benchmarks.md. Takes a few minutes on 2 cores.
#   bash scripts/bench.sh            # everything
#   bash scripts/bench.sh --quick    # fewer runs, a smoke test
#   bash scripts/bench.sh --only overhead,peer --no-write
#   bash scripts/bench.sh --only tls --no-write   # rows 1 and 2 again over TLS (test CA, HTTPS fake pool)
#   bash scripts/bench.sh --only latency,lro --no-write   # through a 20 ms round trip (delaying proxy)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

echo "== building the release binary and the benchmark" >&2
cargo build --release --bin azure-sessions-lsp >&2
# `cargo bench` rebuilds the binary in target/release with the dev-dependencies' features unified
# in; measure the one `cargo build --release` made, kept aside.
mkdir -p target/bench
cp target/release/azure-sessions-lsp target/bench/azure-sessions-lsp
cargo bench --bench bench --no-run >&2

# LangChain's client of the dynamic-sessions API, from PyPI, in a venv of its own (gitignored).
venv="$root/.venv-bench"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import langchain_azure_dynamic_sessions' 2>/dev/null; then
  echo "== installing langchain-azure-dynamic-sessions into .venv-bench" >&2
  "$venv/bin/pip" install --quiet langchain-azure-dynamic-sessions >&2
fi
"$venv/bin/pip" show langchain-azure-dynamic-sessions 2>/dev/null | sed -n 's/^Version: /== langchain-azure-dynamic-sessions /p' >&2

export BENCH_BIN="$root/target/bench/azure-sessions-lsp"
export BENCH_PYTHON="$venv/bin/python"
# Loopback only: no proxy may see the fake pools.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
# The whole run is bounded: 10 minutes at most.
exec timeout --kill-after=10 600 cargo bench --bench bench -- "$@"
