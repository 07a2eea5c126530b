"""The peer client of the benchmark: LangChain's SessionsPythonREPLTool against the fake pool.

Usage: python langchain_peer.py ENDPOINT RUNS WARMUP
Prints one JSON line: per-run latencies in microseconds for `tool.invoke` (what an agent calls)
and for `tool.execute` (the HTTP call alone), and the import time of the package.
"""

import json
import sys
import time

started = time.perf_counter()
from langchain_azure_dynamic_sessions import SessionsPythonREPLTool  # noqa: E402

import_seconds = time.perf_counter() - started


def main() -> None:
    endpoint, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tool = SessionsPythonREPLTool(
        pool_management_endpoint=endpoint,
        access_token_provider=lambda: "bench-fixed-token",
        session_id="azs-langchain-bench",
    )
    for _ in range(warmup):
        tool.invoke("print(1)")
    invoke_us = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        content = tool.invoke("print(1)")
        invoke_us.append((time.perf_counter_ns() - t0) / 1000.0)
    if '"stdout": "1\\n"' not in content:
        raise SystemExit(f"unexpected answer: {content!r}")
    execute_us = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        tool.execute("print(1)")
        execute_us.append((time.perf_counter_ns() - t0) / 1000.0)
    print(
        json.dumps(
            {
                "invoke_us": invoke_us,
                "execute_us": execute_us,
                "import_seconds": import_seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
