"""Drives tau2-bench (the official harness) inside ITS OWN venv; evalsuite runs this file with that
venv's python. Standard library and tau2 only: evalsuite is not importable here.

    python tau2_run.py list CONFIG.json   # one JSON line per task: {"domain", "id"}
    python tau2_run.py run CONFIG.json    # run the tasks of each domain; tau2 resumes its own file

CONFIG.json: {"domains", "task_split", "ids" ({domain: [task ids]} or null), "agent" ("card" or
"tau2"), "system_prompt" (the card's template with {policy}), "agent_llm", "agent_llm_args",
"user_llm", "user_llm_args", "num_trials", "max_concurrency", "seed", "results_dir"}.

The agent is tau2's own LLM agent; "card" changes only its system prompt to the card's
customer-service template (the tools still go through the API, and the model's chat template lists
them in the card's XML tool format). Each domain's simulations are saved to
results_dir/<domain>.json, tau2's Results file; when it exists tau2 asks whether to resume, and this
driver answers yes (tau2 then skips every (trial, task) it already holds).
"""
import json
import sys
from pathlib import Path


def load_tasks(domain, split):
    from tau2 import run as tau2_run

    try:
        return tau2_run.get_tasks(task_set_name=domain, task_split_name=split)
    except TypeError:  # versions without task splits
        return tau2_run.load_tasks(domain)


def register_card_agent(template):
    from tau2.agent.llm_agent import LLMAgent
    from tau2.registry import registry

    class CardAgent(LLMAgent):
        @property
        def system_prompt(self):
            return template.replace("{policy}", self.domain_policy)

    if "evalsuite_card_agent" not in registry.get_agents():
        registry.register_agent(CardAgent, "evalsuite_card_agent")
    return "evalsuite_card_agent"


def run(config):
    from tau2 import run as tau2_run
    from tau2.data_model.simulation import RunConfig
    from tau2.utils.display import ConsoleDisplay

    # tau2 asks on the console whether to resume an existing results file: always resume
    ConsoleDisplay.console.input = lambda *args, **kwargs: "y"
    agent = register_card_agent(config["system_prompt"]) if config["agent"] == "card" else "llm_agent"
    out = Path(config["results_dir"])
    out.mkdir(parents=True, exist_ok=True)
    for domain in config["domains"]:
        ids = (config.get("ids") or {}).get(domain)
        if config.get("ids") is not None and not ids:
            continue
        fields = dict(domain=domain, agent=agent, llm_agent=config["agent_llm"], llm_args_agent=config["agent_llm_args"],
                      user="user_simulator", llm_user=config["user_llm"], llm_args_user=config["user_llm_args"],
                      num_trials=int(config["num_trials"]), task_ids=ids, max_concurrency=int(config["max_concurrency"]),
                      seed=int(config["seed"]), save_to=str(out / domain))  # tau2 appends ".json"
        keep_readable(out / f"{domain}.json")
        if "task_split_name" in RunConfig.model_fields:
            fields["task_split_name"] = config["task_split"]
        print(f"evalsuite: tau2 {domain}: {len(ids) if ids else 'all'} tasks x {config['num_trials']} trials", flush=True)
        tau2_run.run_domain(RunConfig(**fields))


def keep_readable(path):
    """tau2 rewrites its whole results file after each simulation: a kill during that write leaves
    a cut file, which tau2's resume cannot read. Keep a copy of the last readable one and put it
    back in that case (the simulations after it are run again)."""
    import shutil

    backup = path.with_name(path.name + ".last-readable")
    if not path.exists():
        return
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        if backup.exists():
            shutil.copyfile(backup, path)
            print(f"evalsuite: {path} was cut by a kill; restored its last readable copy", flush=True)
        else:
            path.rename(path.with_name(path.name + ".cut"))
            print(f"evalsuite: {path} was cut by a kill and has no readable copy; set aside as .cut", flush=True)
        return
    shutil.copyfile(path, backup)


def main(argv):
    command = argv[1]
    config = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
    if command == "list":
        for domain in config["domains"]:
            for task in load_tasks(domain, config["task_split"]):
                print(json.dumps({"domain": domain, "id": str(task.id)}))
    elif command == "run":
        run(config)
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
