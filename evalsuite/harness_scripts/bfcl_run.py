"""Drives bfcl-eval (the official BFCL harness) inside ITS OWN venv; evalsuite runs this file with
that venv's python. Standard library and bfcl_eval only: evalsuite is not importable here.

    python bfcl_run.py list CONFIG.json   # one JSON line per test entry of the categories
    python bfcl_run.py run CONFIG.json    # generate the missing entries, then evaluate them

CONFIG.json: {"project_root", "model_key", "served_model", "categories", "ids" (null: all),
"temperature", "num_threads"}. The model is registered with bfcl as a function-calling model
behind bfcl's own OpenAI chat-completions handler (OPENAI_BASE_URL is the endpoint): the server's
tool-call parser (the card's qwen3_coder format) turns the model's calls into tool_calls. bfcl
keeps its result files under project_root/result and scores under project_root/score; a rerun
skips every entry already in a result file (bfcl's own resume).
"""
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace


def load_config(path):
    config = json.loads(Path(path).read_text(encoding="utf-8"))
    os.environ["BFCL_PROJECT_ROOT"] = config["project_root"]  # read by bfcl at import
    return config


def register(config):
    from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING, ModelConfig
    from bfcl_eval.model_handler.api_inference.openai_completion import OpenAICompletionsHandler

    MODEL_CONFIG_MAPPING[config["model_key"]] = ModelConfig(
        model_name=config["served_model"], display_name=f"{config['served_model']} (FC, evalsuite)",
        url="", org="", license="", model_handler=OpenAICompletionsHandler, input_price=None, output_price=None,
        is_fc_model=True, underscore_to_dot=True)  # the handler sends "a.b" as "a_b", as for bfcl's OpenAI models


def entries(config):
    """The test entries asked for, with the memory prerequisites they depend on."""
    from bfcl_eval.utils import load_dataset_entry, parse_test_category_argument

    categories = parse_test_category_argument(config["categories"])
    wanted = set(config["ids"]) if config.get("ids") is not None else None
    picked, by_id = [], {}
    for category in categories:
        for entry in load_dataset_entry(category):
            by_id[entry["id"]] = entry
            if wanted is None or entry["id"] in wanted:
                picked.append(entry)
    seen = {e["id"] for e in picked}
    queue = list(picked)
    while queue:  # memory entries need their prerequisite conversations
        for dep in queue.pop().get("depends_on", []):
            if dep not in seen and dep in by_id:
                seen.add(dep)
                picked.append(by_id[dep])
                queue.append(by_id[dep])
    return categories, picked


def question_text(entry):
    turns = entry.get("question") or []
    for turn in turns:
        for message in turn if isinstance(turn, list) else [turn]:
            if isinstance(message, dict) and message.get("role") == "user":
                return str(message.get("content", ""))
    return ""


def repair_result_files(root):
    """A harness killed mid-write leaves a last line without its newline: cut it, so bfcl's resume
    reads the file (that entry was never finished and is generated again)."""
    for path in (root / "result").rglob("*_result.json"):
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            path.write_bytes(data[: data.rfind(b"\n") + 1])


def run(config):
    from bfcl_eval import _llm_response_generation as generation
    from bfcl_eval.constants.eval_config import RESULT_FILE_PATTERN
    from bfcl_eval.eval_checker import eval_runner
    from bfcl_eval.utils import sort_file_content_by_id

    root = Path(config["project_root"])
    repair_result_files(root)
    categories, todo = entries(config)
    args = SimpleNamespace(result_dir=root / "result", allow_overwrite=False, run_ids=False,
                           temperature=float(config["temperature"]), include_input_log=True,
                           exclude_state_log=False, num_threads=int(config["num_threads"]), num_gpus=1,
                           gpu_memory_utilization=0.9, backend="vllm", skip_server_setup=True,
                           local_model_path=None, lora_modules=None, enable_lora=False, max_lora_rank=None)
    cases = generation.collect_test_cases(args, config["model_key"], categories, todo)
    print(f"evalsuite: {len(cases)} of {len(todo)} entries to generate ({len(todo) - len(cases)} already in bfcl's result files)",
          flush=True)
    if cases:
        generation.generate_results(args, config["model_key"], cases)
        for path in args.result_dir.rglob(RESULT_FILE_PATTERN):
            sort_file_content_by_id(path)
    eval_runner.main([config["model_key"]], categories, str(root / "result"), str(root / "score"),
                     partial_eval=config.get("ids") is not None)
    # which entries that evaluation saw, so evalsuite imports verdicts only for those
    evaluated = {}
    for path in (root / "result").rglob(RESULT_FILE_PATTERN):
        ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        evaluated[str(path.relative_to(root))] = ids
    (root / "evaluated.json").write_text(json.dumps(evaluated), encoding="utf-8")


def main(argv):
    command, config = argv[1], load_config(argv[2])
    register(config)
    if command == "list":
        from bfcl_eval.utils import extract_test_category_from_id, is_memory_prereq

        _, picked = entries(config)
        for entry in picked:
            if is_memory_prereq(entry["id"]):
                continue
            print(json.dumps({"id": entry["id"], "category": extract_test_category_from_id(entry["id"]),
                              "question": question_text(entry)}))
    elif command == "run":
        run(config)
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
