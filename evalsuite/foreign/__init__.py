"""Other harnesses' own output files as responses, graded by our scorer beside their own verdicts.

    evalsuite task=aime25 stage=score responses=eval-results/aime25 responses_format=nemo_skills

Each reader turns one harness's file into `ForeignRow`s: the item (matched to ours by its question
text, else its id), the sample index, the generation (raw where the harness kept it, so our own
split at think_end applies; its separated reasoning where it only kept that), and the harness's own
extraction and verdicts. The generations go into the run's generations.jsonl (as `responses=FILE`
does for our own jsonl), the harness's side into <task>/foreign.jsonl; once our scorer has graded
them, `attach_agreement` compares the two item by item and writes <task>/agreement.json.

The layouts (docs/foreign_responses.md has the fields each reader takes):
  nemo_skills  output-rs<seed>.jsonl (one file per seed = per sample), or the directory holding them
  lm_eval      samples_<task>_<date>.jsonl from `--log_samples`
  lighteval    details_<task>_<date>.parquet (or .jsonl) from `--save-details`
  inspect      an inspect_ai log, .eval (zip) or .json

The modules, one job each:
  rows         ForeignRow / ForeignFile (what every reader makes), the format names, shared reading helpers
  nemo_skills, lm_eval, lighteval, inspect_ai   one reader per harness: its file -> a ForeignFile
  matching     a row to our item (question text, else id); a reference answer that contradicts ours
  lettering    a multiple-choice item's options in the harness's own lettering
  importing    responses_format=...: read, match, write generations.jsonl and foreign.jsonl, made_by
  agreement    ours against theirs, item by item: agreement.json and report.md's lines
"""
