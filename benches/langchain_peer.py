"""The peer client of the benchmark: LangChain's SessionsPythonREPLTool against the fake pool.

Usage: python langchain_peer.py ENDPOINT RUNS WARMUP [--tls-probe HOST:PORT COUNT]
Prints one JSON line: per-run latencies in microseconds for `tool.invoke` (what an agent calls)
and for `tool.execute` (the HTTP call alone), and the import time of the package.
Over TLS (an https ENDPOINT, with REQUESTS_CA_BUNDLE naming the test CA), `--tls-probe` also
measures, with the same interpreter and `ssl` module, what a new TLS connection costs Python:
TCP connect + handshake + close to HOST:PORT with one SSL context made once (`handshake_us`),
and making an SSL context the way urllib3 does for every new connection, with the test CA
(`context_ca_us`) and with certifi's bundle, what `verify=True` loads (`context_certifi_us`).
"""

import json
import os
import socket
import sys
import time

started = time.perf_counter()
from langchain_azure_dynamic_sessions import SessionsPythonREPLTool  # noqa: E402

import_seconds = time.perf_counter() - started


def timed_us(action, count: int) -> list:
    samples = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        action()
        samples.append((time.perf_counter_ns() - t0) / 1000.0)
    return samples


def tls_probe(address: str, count: int) -> dict:
    import certifi
    from urllib3.util.ssl_ import create_urllib3_context

    host, port = address.rsplit(":", 1)
    ca = os.environ["REQUESTS_CA_BUNDLE"]

    def context(cafile: str):
        # What urllib3's ssl_wrap_socket does when no ssl_context is passed (requests never
        # passes one): a new context, then the CA file is loaded into it.
        ctx = create_urllib3_context()
        ctx.load_verify_locations(cafile)
        return ctx

    shared = context(ca)
    shared.set_alpn_protocols(["http/1.1"])

    def handshake() -> None:
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with shared.wrap_socket(raw, server_hostname=host):
                pass

    for _ in range(5):
        handshake()
    return {
        "handshake_us": timed_us(handshake, count),
        "context_ca_us": timed_us(lambda: context(ca), count),
        "context_certifi_us": timed_us(lambda: context(certifi.where()), max(count // 4, 5)),
        "certifi_path": certifi.where(),
    }


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
    result = {
        "invoke_us": invoke_us,
        "execute_us": execute_us,
        "import_seconds": import_seconds,
    }
    if len(sys.argv) >= 7 and sys.argv[4] == "--tls-probe":
        result["probe"] = tls_probe(sys.argv[5], int(sys.argv[6]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
