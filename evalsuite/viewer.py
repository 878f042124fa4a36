"""viewer.html: every item of a run with each sample's thinking, answer, extracted value, reference
and verdict; filters by task and verdict. One static file: it opens from the file system, no server.

Model output is hostile text. The data travels as JSON inside <script type="application/json"> with
every `<`, `>` and `&` written as a \\u escape, so no response can close the script element, and
the page builds its DOM with textContent only, so no response is ever parsed as HTML.
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from evalsuite.render import build_messages, split_generation
from evalsuite.results import TaskResult, load_items
from evalsuite.types import ENGINE_FIELDS, Generation, Score

VERDICTS = ("correct", "partial", "wrong", "no answer", "scoring error", "unfinished", "not scored")
# A card run holds ~10,000 responses of up to 131K tokens each: the page keeps each text's head and
# tail within these budgets (characters) so it stays openable; generations.jsonl has the rest.
PROMPT_CHARS = 8_000
THINKING_CHARS = 6_000
ANSWER_CHARS = 8_000
REFERENCE_CHARS = 2_000  # a LiveCodeBench reference is its test cases: megabytes


def clip(text: str | None, limit: int) -> str:
    if not text or len(text) <= limit:
        return text or ""
    head, tail = (limit * 2) // 3, limit // 3
    return (f"{text[:head]}\n\n[... {len(text) - head - tail:,} characters elided here; the full text is in "
            f"generations.jsonl ...]\n\n{text[-tail:]}")


def verdict(score: Score | None) -> str:
    if score is None:
        return "not scored"
    if score.unfinished:
        return "unfinished"
    value = float(score.value or 0.0)
    if value >= 1.0:
        return "correct"
    if value > 0.0:
        return "partial"
    if score.scoring_error:  # the scorer failed, not the model
        return "scoring error"
    return "no answer" if score.extracted is None else "wrong"


def shown_detail(score: Score | None) -> dict[str, Any]:
    """What the page shows beside the verdict: the score's detail, the fields the engine reads
    (scoring error, vote key, why a judge is needed) and the OPEN variants."""
    if score is None:
        return {}
    fields = {name: getattr(score, name) for name in ENGINE_FIELDS if getattr(score, name) is not None}
    return {**score.detail, **fields, **({"variants": score.variants} if score.variants else {})}


def expects_reasoning(task: TaskResult) -> bool:
    """The run's own rule (planning.reasoning_expected), on the config run.json recorded."""
    from omegaconf import OmegaConf

    from evalsuite.planning import reasoning_expected

    config = (task.manifest or {}).get("config") or {}
    return reasoning_expected(OmegaConf.create({"model": config.get("model") or {}, "task": config.get("task") or {}}))


def shown_split(gen: Generation, reasoning_expected: bool, think_end: str) -> tuple[str, str | None]:
    """(thinking, answer) as the scorer saw them (its own rule, render.split_generation); answer
    None when thinking never closed."""
    thinking, answer = split_generation(gen.text or "", gen.reasoning, reasoning_expected, think_end)
    return thinking.strip().removeprefix("<think>").lstrip(), answer


def _json_value(x: Any) -> str:
    if isinstance(x, str):
        return x
    try:
        return json.dumps(x, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(x)


def reference_text(reference: Any) -> str:
    """References can be anything a task loads: a string, a letter with its option order (GPQA), test
    cases (LiveCodeBench). A dict shows its short fields; long ones (question text, tests) are elided."""
    if isinstance(reference, dict):
        short = {k: v for k, v in reference.items() if len(_json_value(v)) <= 120}
        text = _json_value(short)
        if len(short) < len(reference):
            text = text[:-1] + (", " if short else "") + f"... {len(reference) - len(short)} long fields}}"
        return clip(text, REFERENCE_CHARS)
    return clip(_json_value(reference), REFERENCE_CHARS)


def task_items(task: TaskResult) -> tuple[list[dict[str, Any]], str | None]:
    gens, scores = task.generations, task.scores
    items, unavailable = load_items(task)
    config = (task.manifest or {}).get("config") or {}
    think_end = (config.get("model") or {}).get("think_end") or "</think>"
    system_prompt = config.get("system_prompt")
    reasoning = expects_reasoning(task)

    conversations = viewer_turns(task.dir, THINKING_CHARS)  # mode=tir: each conversation turn by turn
    by_item: dict[str, list[tuple[int, Generation | None, Score | None]]] = {}
    for key in set(gens) | set(scores):
        by_item.setdefault(key[0], []).append((key[1], gens.get(key), scores.get(key)))
    out = []
    def shown_prompt(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
        """The chat the model was sent, system prompt included (the renderer's own rule)."""
        if not messages:
            return []
        return [{"role": m.get("role", "?"), "content": clip(str(m.get("content", "")), PROMPT_CHARS)}
                for m in build_messages(messages, str(system_prompt) if system_prompt else None)]

    for sid in sorted(by_item, key=lambda s: (0, int(s), "") if s.isdigit() else (1, 0, s)):
        item = items.get(sid)
        samples = []
        for k, gen, score in sorted(by_item[sid], key=lambda t: t[0]):
            thinking, answer = shown_split(gen, reasoning, think_end) if gen else ("", None)
            value = None if score is None else float(score.value or 0.0)
            view = item.for_k(k) if item else None
            # this k saw its own prompt (GPQA's per-sample shuffle)
            own = view is not None and (view.messages != item.messages or view.reference != item.reference)
            samples.append({
                "prompt": shown_prompt(view.messages) if own else None,
                "reference": reference_text(view.reference) if own else None,
                "k": k, "verdict": verdict(score), "score": value if value is None or math.isfinite(value) else None,
                "extracted": None if score is None or score.extracted is None else _json_value(score.extracted),
                "thinking": clip(thinking, THINKING_CHARS), "answer": clip(answer, ANSWER_CHARS) if answer is not None else None,
                "tokens": gen.tokens if gen else None, "finish": gen.finish_reason if gen else None,
                "detail": clip(json.dumps(shown_detail(score), ensure_ascii=False, default=str), 2000),
                "turns": conversations.get((sid, k)),
            })
        out.append({"task": task.name, "id": sid, "prompt": shown_prompt(item.messages) if item else [],
                    "reference": reference_text(item.reference) if item else None,
                    "samples": samples})
    return out, unavailable


def viewer_data(run_dir: Path, tasks: list[TaskResult]) -> dict[str, Any]:
    items, notes = [], []
    tasks = [t for t in tasks if t.generations or t.scores]
    for t in tasks:
        task_list, unavailable = task_items(t)
        items += task_list
        if unavailable:
            notes.append(f"{t.name}: {unavailable}")
    return {"title": f"evalsuite samples: {run_dir}", "tasks": [t.name for t in tasks],
            "verdicts": list(VERDICTS), "notes": notes, "items": items}


def script_json(data: Any) -> str:
    """JSON that is inert inside a <script> element, whatever strings it holds."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def viewer_html(data: dict[str, Any]) -> str:
    # split, not replace: neither placeholder may be looked for inside the data itself
    head, tail = PAGE.split("__DATA__")
    return head.replace("__TITLE__", html.escape(data["title"])) + script_json(data) + tail


def write_viewer(run_dir: Path, tasks: list[TaskResult]) -> Path:
    path = Path(run_dir) / "viewer.html"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(viewer_html(viewer_data(Path(run_dir), tasks)), encoding="utf-8")
    tmp.replace(path)
    return path


PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1.2em;color:#222}
#controls{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}
#controls label{margin-right:1em}
details.item{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.3em .6em}
details.item>summary{cursor:pointer}
.sample{border-left:4px solid #ccc;margin:.6em 0;padding:.2em .6em}
.sample.correct{border-color:#2ca02c}.sample.partial{border-color:#bcbd22}.sample.wrong{border-color:#d62728}
.sample.no-answer,.sample.scoring-error,.sample.unfinished{border-color:#7f7f7f}.sample.not-scored{border-color:#ddd}
.verdict{font-weight:600}.muted{color:#777}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.4em;margin:.3em 0;max-height:30em;overflow:auto}
.role{font-size:12px;color:#555;text-transform:uppercase}
</style></head><body>
<h1 id="title"></h1>
<p><a href="report.html">report</a> <span id="notes" class="muted"></span></p>
<div id="controls">
<label>task <select id="task-filter"></select></label>
<label>verdict <select id="verdict-filter"></select></label>
<label>item id <input id="id-filter" size="12"></label>
<span id="counts">showing <b id="count-items">0</b> items, <b id="count-samples">0</b> samples
 (<span id="count-verdicts"></span>)</span>
</div>
<div id="items"></div>
<p><button id="more" hidden>show more items</button></p>
<script type="application/json" id="viewer-data">__DATA__</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("viewer-data").textContent);
const PAGE_SIZE = 200;
let shown = PAGE_SIZE;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
function option(value, text) { const o = el("option", {value: value}); o.textContent = text; return o; }

document.title = DATA.title;
document.getElementById("title").textContent = DATA.title;
document.getElementById("notes").textContent = DATA.notes.join(" · ");
const taskSel = document.getElementById("task-filter");
taskSel.append(option("", "all"), ...DATA.tasks.map(t => option(t, t)));
const verdictSel = document.getElementById("verdict-filter");
verdictSel.append(option("", "all"), ...DATA.verdicts.map(v => option(v, v)));
const idInput = document.getElementById("id-filter");

function matching() {
  const task = taskSel.value, verdict = verdictSel.value, id = idInput.value.trim();
  const out = [];
  for (const item of DATA.items) {
    if (task && item.task !== task) continue;
    if (id && !item.id.includes(id)) continue;
    const samples = verdict ? item.samples.filter(s => s.verdict === verdict) : item.samples;
    if (samples.length) out.push({item, samples});
  }
  return out;
}

function sampleBox(s, itemReference) {
  const reference = s.reference ?? itemReference;
  const box = el("div", {class: "sample " + s.verdict.replace(" ", "-"), "data-verdict": s.verdict});
  const head = el("div", {},
    el("span", {class: "verdict"}, s.verdict), ` · sample k=${s.k}`,
    ` · extracted: `, el("code", {}, s.extracted === null ? "(none)" : s.extracted),
    ` · reference: `, el("code", {}, reference === null ? "(unknown)" : reference),
    el("span", {class: "muted"}, ` · ${s.tokens ?? "?"} tokens, finish ${s.finish ?? "?"}` +
      (s.score === null ? "" : `, score ${s.score}`)));
  box.append(head);
  if (s.prompt) {
    const own = el("details", {class: "own-prompt"}, el("summary", {}, "this sample's own prompt"));
    for (const m of s.prompt) own.append(el("div", {class: "role"}, m.role), el("pre", {}, m.content));
    box.append(own);
  }
  if (s.turns) {  // a tool-integrated conversation: every turn, its call, the tool's output
    const conv = el("details", {class: "turns"}, el("summary", {}, `conversation: ${s.turns.length} turns`));
    for (const t of s.turns) {
      conv.append(el("div", {class: "role"}, `turn ${t.turn} (${t.tokens ?? "?"} tokens)`), el("pre", {}, t.text));
      if (t.call_error) conv.append(el("div", {class: "role"}, `malformed call: ${t.call_error}`));
      if (t.code) conv.append(el("div", {class: "role"}, "call: stateful_python_code_exec"), el("pre", {}, t.code));
      if (t.response !== null) conv.append(el("div", {class: "role"}, "tool response"), el("pre", {}, t.response));
    }
    box.append(conv);
  }
  if (s.thinking) {
    box.append(el("details", {class: "thinking"}, el("summary", {}, `thinking (${s.thinking.length} chars)`),
                  el("pre", {}, s.thinking)));
  }
  box.append(s.answer === null ? el("p", {class: "muted"}, "no answer: the thinking never closed")
                               : el("pre", {class: "answer"}, s.answer));
  if (s.detail && s.detail !== "{}") {
    box.append(el("details", {}, el("summary", {class: "muted"}, "scorer detail"), el("pre", {}, s.detail)));
  }
  return box;
}

function itemBox(item, samples) {
  const right = item.samples.filter(s => s.verdict === "correct").length;
  const box = el("details", {class: "item", "data-task": item.task, "data-id": item.id});
  box.append(el("summary", {}, `${item.task} · item ${item.id} · ${right}/${item.samples.length} correct` +
                 (samples.length !== item.samples.length ? ` · ${samples.length} shown` : "") +
                 ` · reference: ${item.reference === null ? "(unknown)" : item.reference.slice(0, 80)}`));
  let built = false;
  box.addEventListener("toggle", () => {   // built on first open: a card run has thousands of samples
    if (built || !box.open) return;
    built = true;
    for (const m of item.prompt) box.append(el("div", {class: "role"}, m.role), el("pre", {class: "prompt"}, m.content));
    if (!item.prompt.length) box.append(el("p", {class: "muted"}, "prompt unavailable"));
    for (const s of samples) box.append(sampleBox(s, item.reference));
  });
  return box;
}

function render() {
  const found = matching();
  const counts = {};
  let nSamples = 0;
  for (const {samples} of found) for (const s of samples) { counts[s.verdict] = (counts[s.verdict] || 0) + 1; nSamples++; }
  document.getElementById("count-items").textContent = found.length;
  document.getElementById("count-samples").textContent = nSamples;
  document.getElementById("count-verdicts").textContent =
    DATA.verdicts.filter(v => counts[v]).map(v => `${v} ${counts[v]}`).join(" · ") || "none";
  const list = document.getElementById("items");
  list.replaceChildren(...found.slice(0, shown).map(({item, samples}) => itemBox(item, samples)));
  const more = document.getElementById("more");
  more.hidden = found.length <= shown;
  more.textContent = `show more items (${found.length - Math.min(shown, found.length)} more)`;
}
for (const control of [taskSel, verdictSel]) control.addEventListener("change", () => { shown = PAGE_SIZE; render(); });
idInput.addEventListener("input", () => { shown = PAGE_SIZE; render(); });
document.getElementById("more").addEventListener("click", () => { shown += PAGE_SIZE; render(); });
render();
</script>
</body></html>
"""


def viewer_turns(task_dir: Path, chars: int) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Each conversation turn by turn for the viewer: the turn's text (thinking and answer), its
    call, the tool's output. Empty for a run that is not TIR."""
    from evalsuite.rundir import TURNS
    from evalsuite.tir import stored_conversations

    turns, _ = stored_conversations(task_dir / TURNS) if (task_dir / TURNS).exists() else ({}, {})
    return {key: [{"turn": t["turn"], "text": clip(t.get("text"), chars),
                   "code": clip((t.get("call") or {}).get("code"), chars),
                   "call_error": (t.get("call") or {}).get("error"),
                   "response": clip(t.get("response"), chars), "tokens": t.get("tokens")} for t in ts]
            for key, ts in turns.items()}
