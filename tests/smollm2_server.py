"""A minimal OpenAI-compatible HTTP server for tests: the embedded SmolLM2-135M-Instruct through
transformers, behind the standard library's http.server. Real HTTP, a real model:

    python tests/smollm2_server.py --port 8011 [--model-id smollm2] [--model-dir DIR]

Serves GET /v1/models, POST /v1/completions (prompt text, tokenized without special tokens: the
client renders the chat template) and POST /v1/chat/completions (messages, templated here). One
request at a time, like llama.cpp's server; `seed` makes sampling reproducible per request.
Unknown model ids get OpenAI's 404 body. (llama-cpp-python's server was tried first: its native
build crashed in llama_decode on this CPU, see docs/backends.md.)
"""
from __future__ import annotations

import argparse
import threading
from http.server import ThreadingHTTPServer

from openai_stub import OpenAIStubHandler


class Model:
    def __init__(self, model_dir: str):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(1)
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.lock = threading.Lock()

    def complete(self, prompt: str, body: dict) -> dict:
        torch = self.torch
        ids = self.tok(prompt, return_tensors="pt", add_special_tokens=False).input_ids
        max_tokens = int(body.get("max_tokens") or 16)
        temperature = float(body.get("temperature", 1.0))
        kwargs = dict(max_new_tokens=max_tokens, pad_token_id=self.tok.eos_token_id)
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_p=float(body.get("top_p", 1.0)), top_k=0)
        else:
            kwargs.update(do_sample=False)
        with self.lock, torch.inference_mode():
            torch.manual_seed(int(body.get("seed") or 0))
            out = self.model.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)[0, ids.shape[1]:].tolist()
        eos = self.tok.eos_token_id
        finish = "stop" if eos in out else "length"
        if eos in out:
            out = out[:out.index(eos)]
        return {"text": self.tok.decode(out, skip_special_tokens=True), "finish_reason": finish,
                "usage": {"prompt_tokens": ids.shape[1], "completion_tokens": len(out) + (finish == "stop"),
                          "total_tokens": ids.shape[1] + len(out)}}


def make_handler(model: Model, model_id: str):
    class Handler(OpenAIStubHandler):
        model_ids = (model_id,)

        def do_POST(self):
            body = self.read_json()
            if body.get("model") != model_id:
                self.send_json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                           "type": "NotFoundError", "code": 404}})
                return
            path = self.path.rstrip("/")
            if path == "/v1/completions":
                r = model.complete(str(body.get("prompt", "")), body)
                choice = {"index": 0, "text": r["text"], "finish_reason": r["finish_reason"]}
            elif path == "/v1/chat/completions":
                prompt = model.tok.apply_chat_template(body.get("messages") or [], tokenize=False, add_generation_prompt=True)
                r = model.complete(prompt, body)
                choice = {"index": 0, "message": {"role": "assistant", "content": r["text"]}, "finish_reason": r["finish_reason"]}
            else:
                self.send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            self.send_json(200, {"id": "cmpl-test", "object": "text_completion", "model": model_id,
                             "choices": [choice], "usage": r["usage"]})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-id", default="smollm2")
    parser.add_argument("--model-dir", default=None)
    args = parser.parse_args()
    if args.model_dir is None:
        from evalsuite.embedded import model_dir

        args.model_dir = str(model_dir())
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Model(args.model_dir), args.model_id))
    print(f"serving {args.model_id} on http://127.0.0.1:{args.port}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
