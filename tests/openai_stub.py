"""What every local OpenAI-compatible test server shares (the SmolLM2 server, the stand-in judge,
the stand-in models): JSON replies and `GET /v1/models`. Each server subclasses the handler with
its own model ids and `do_POST`. The scripted stand-in models (tir_stand_in_server.py,
tool_call_stand_in_server.py) also share their command line, their request log and their server."""
from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


class OpenAIStubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    model_ids: tuple[str, ...] = ()

    def log_message(self, *args):  # quiet
        pass

    def send_json(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_json(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")

    def not_served(self, route: str) -> bool:
        """True (after answering 404) when the request is not for `route`, the one POST route served."""
        if self.path.rstrip("/") == route:
            return False
        self.send_json(404, {"error": {"message": f"the stand-in serves {route} only"}})
        return True

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "tests"}
                                                            for m in self.model_ids]})
        else:
            self.send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})


class RequestLog:
    """Requests as JSON lines appended to a file (path None: not logged), one writer at a time."""

    def __init__(self, path: str | None):
        self.path = path
        self._lock = threading.Lock()

    def write(self, record: dict) -> None:
        if self.path:
            with self._lock, open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")


class LocalServer(ThreadingHTTPServer):
    request_queue_size = 256  # many conversations connect at once (the default backlog is 5)
    daemon_threads = True


def local_server(handler: type[BaseHTTPRequestHandler], port: int) -> LocalServer:
    return LocalServer(("127.0.0.1", port), handler)


def serve_script(make_handler: Callable[[dict, RequestLog], type[BaseHTTPRequestHandler]]) -> None:
    """A scripted stand-in's command line: `--port N --script SCRIPT.json [--log LOG.jsonl]`; serves until killed."""
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--script", required=True)
    p.add_argument("--log")
    a = p.parse_args()
    with open(a.script) as f:
        script = json.load(f)
    local_server(make_handler(script, RequestLog(a.log)), a.port).serve_forever()
