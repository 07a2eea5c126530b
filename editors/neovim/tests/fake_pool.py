#!/usr/bin/env python3
"""A stand-in session pool for the e2e test: logs "METHOD /path" of every request to LOG, answers
GET and HEAD with 404 (no such session) and POST /executions with a successful run.
Usage: fake_pool.py LOG PORTFILE (writes the port it listens on, 127.0.0.1, to PORTFILE)."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_path, port_path = sys.argv[1], sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    def _log(self):
        with open(log_path, "a") as log:
            log.write(f"{self.command} {self.path.split('?')[0]}\n")

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._log()
        self._answer(404, {"error": {"code": "SessionWithIdentifierNotFound", "message": "no session"}})

    def do_HEAD(self):
        # The server's prewarm opens the connection with a HEAD that names no session.
        self._log()
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        self._log()
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer(200, {"id": "exec-1", "identifier": "x", "executionType": "Synchronous",
                           "status": "Succeeded",
                           "result": {"stdout": "fake-pool-ran\n", "stderr": "", "executionResult": None,
                                      "executionTimeInMilliseconds": 5}})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_path, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
