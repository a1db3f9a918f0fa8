"""A tiny OpenAI-compatible HTTP server that misbehaves on cue, for fault tests only.

Each request takes the next step of a script: "ok:TEXT", "429", "500", "sleep:SECONDS",
"garbled", "400" or "401". When the script runs out, it answers "ok:fine".
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultServer:
    def __init__(self, script: list[str] | None = None, *, delay: float = 0.0):
        self.script = list(script or [])
        self.delay = delay
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "fault-model"}]})

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    step = server.script.pop(0) if server.script else "ok:fine"
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.delay:
                        time.sleep(server.delay)
                    self._act(step)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _act(self, step: str):
                kind, _, arg = step.partition(":")
                if kind == "ok":
                    self._send(200, {
                        "id": "x", "object": "chat.completion", "model": "fault-model",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": arg}}],
                        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
                    })
                elif kind == "sleep":
                    time.sleep(float(arg))
                    self._act("ok:late")
                elif kind == "garbled":
                    raw = b"<html>this is not json"
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                elif kind == "429":
                    self._send(429, {"error": "slow down"}, {"retry-after": arg or "0"})
                else:  # an HTTP status, with an optional word for the error body
                    self._send(int(kind), {"error": f"status {kind} {arg}".strip()})

            def _send(self, status: int, obj: dict, headers: dict | None = None):
                raw = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(raw)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
