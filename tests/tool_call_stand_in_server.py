"""A STAND-IN MODEL that makes tool calls: a real OpenAI-compatible HTTP server (standard library)
answering /v1/chat/completions from a script, as `vllm serve --enable-auto-tool-choice
--tool-call-parser ...` would after parsing a model's calls. No model that makes tool calls can run
on this machine, so the agentic tests drive the official harnesses (bfcl-eval ...) against this.

    python tests/tool_call_stand_in_server.py --port 8013 --script SCRIPT.json --log LOG.jsonl

SCRIPT.json: {"model_id": "stand-in", "delay_s": 0.0, "replies": [{"match": TEXT, "tool_calls":
[{"name": NAME, "arguments": {...}}]} | {"match": TEXT, "content": TEXT}, ...]}. A request is
answered from the first reply whose `match` occurs in its first user message; a request that
matches none gets a plain-text answer. Every request is logged to --log (one JSON line, with the
match it got) after its reply is sent, so a test counts what the harness asked for.
"""
from __future__ import annotations

import json
import time

from openai_stub import OpenAIStubHandler, RequestLog, serve_script


def first_user_text(messages: list) -> str:
    for m in messages or []:
        if isinstance(m, dict) and m.get("role") == "user":
            content = m.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def reply_for(script: dict, body: dict) -> tuple[dict, str | None]:
    text = first_user_text(body.get("messages"))
    for n, reply in enumerate(script["replies"]):
        if reply["match"] in text:
            if "tool_calls" in reply:
                calls = [{"id": f"call_{n}_{i}", "type": "function",
                          "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                         for i, c in enumerate(reply["tool_calls"])]
                return {"role": "assistant", "content": None, "tool_calls": calls}, reply["match"]
            return {"role": "assistant", "content": reply["content"]}, reply["match"]
    return {"role": "assistant", "content": "I have no script for this request."}, None


def make_handler(script: dict, log: RequestLog):
    class Handler(OpenAIStubHandler):
        model_ids = (script.get("model_id", "stand-in"),)

        def do_POST(self):
            body = self.read_json()
            if self.not_served("/v1/chat/completions"):
                return
            if body.get("model") not in self.model_ids:
                self.send_json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}})
                return
            message, matched = reply_for(script, body)
            time.sleep(float(script.get("delay_s", 0.0)))
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            self.send_json(200, {"id": "stand-in", "object": "chat.completion", "created": int(time.time()),
                                 "model": body.get("model"),
                                 "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                 "usage": {"prompt_tokens": len(json.dumps(body.get("messages")).split()),
                                           "completion_tokens": 7, "total_tokens": 0}})
            log.write({"t": time.time(), "match": matched, "tools": len(body.get("tools") or [])})

    return Handler


if __name__ == "__main__":
    serve_script(make_handler)
