"""What every local OpenAI-compatible test server shares (the SmolLM2 server, the stand-in judge,
the TIR stand-in model): JSON replies and `GET /v1/models`. Each server subclasses the handler
with its own model ids and `do_POST`."""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler


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

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "tests"}
                                                            for m in self.model_ids]})
        else:
            self.send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
