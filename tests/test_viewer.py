"""viewer.html in a real headless browser (Debian's chromium driven by Playwright): it loads from the
file system, shows the right counts, its filters work, and hostile model output stays text."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evalsuite import results, viewer
from evalsuite.config import compose
from evalsuite.types import Generation
from tests.fixtures_run import small_run, write_fake_task  # noqa: F401 - small_run is a fixture

CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = ('<think>plan</script><script>window.pwned = 1</script><!-- </think>'
           '<img src=x onerror="window.pwned = 2"> \u2028 & &amp; ]]> \\boxed{1}</script>')


def test_data_is_inert_inside_a_script_element():
    text = viewer.script_json({"t": HOSTILE, "u": "\u2029<!--"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"t": HOSTILE, "u": "\u2029<!--"}


def test_long_texts_keep_head_and_tail():
    text = "A" * 10_000 + "B" * 10_000
    clipped = viewer.clip(text, 3_000)
    assert clipped.startswith("A" * 2_000) and clipped.endswith("B" * 1_000) and "17,000 characters elided" in clipped


def test_viewer_splits_as_the_scorer_does():
    """The viewer shows the answer the scorer graded: the one rule (render.split_generation)."""
    def gen(text: str, reasoning: str | None = None) -> Generation:
        return Generation("1", 0, text, 5, "stop", reasoning=reasoning)

    gens = [(gen("<think>t</think> \\boxed{1}"), True, "\\boxed{1}"),
            (gen("<think>never closed"), True, None),
            (gen("plain </think> text"), False, "plain </think> text"),  # no thinking mode: no cut
            (gen("a </think> b", reasoning=""), True, "a </think> b"),  # answer_only import
            (gen("answer", reasoning="thinking"), True, "answer")]
    for gen, thinks, answer in gens:
        assert viewer.shown_split(gen, thinks, "</think>")[1] == answer, gen
    assert viewer.shown_split(gens[0][0], True, "</think>")[0] == "t"
    assert viewer.shown_split(gens[4][0], True, "</think>")[0] == "thinking"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: `apt-get install -y chromium` (make setup does it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # chromium is here, so the test setup is incomplete: say so, do not skip
        pytest.fail("playwright is missing: pip install -e '.[test]' (make setup does it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-dev-shm-usage", "--no-first-run"])
        yield b
        b.close()


def open_viewer(browser, path: Path):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("#count-items")
    return page, errors


def counts(page) -> tuple[int, int]:
    return int(page.inner_text("#count-items")), int(page.inner_text("#count-samples"))


def test_viewer_counts_filters_and_hostile_text(browser, tmp_path):
    # a thinking model's run: its texts are split at </think> (a model without a thinking mode would
    # show each whole text as the answer)
    config = compose(["task=aime25", "data=sample", "limit=3", "model=nemotron-cascade-2"])
    from omegaconf import OmegaConf

    write_fake_task(tmp_path, "aime25", "AIME 2025",
                    {"1": ["correct", "wrong", "unfinished"], "2": ["wrong", "wrong", "none"], "3": ["correct"] * 3},
                    texts={("1", 1): HOSTILE}, config=OmegaConf.to_container(config, resolve=True))
    write_fake_task(tmp_path, "hmmt_feb25", "HMMT Feb25", {"a": ["correct", "wrong"], "b": ["none", "none"]})
    path = viewer.write_viewer(tmp_path, results.scan(tmp_path))
    page, errors = open_viewer(browser, path)

    assert counts(page) == (5, 13)
    assert "correct 5 · wrong 4 · no answer 3 · unfinished 1" in page.inner_text("#count-verdicts")
    page.select_option("#verdict-filter", "wrong")
    assert counts(page) == (3, 4)
    page.select_option("#task-filter", "hmmt_feb25")
    assert counts(page) == (1, 1)
    page.select_option("#verdict-filter", "")
    page.fill("#id-filter", "b")
    assert counts(page) == (1, 2)
    page.fill("#id-filter", "")
    page.select_option("#task-filter", "aime25")
    page.select_option("#verdict-filter", "wrong")
    assert counts(page) == (2, 3)

    # item 1: its prompt (reloaded by the task's own loader), the hostile answer shown as text
    item = page.locator('details.item[data-id="1"]')
    item.locator("summary").click()
    item.locator(".sample").first.wait_for()  # samples are built by the toggle event, after the click
    assert "What is the sum of the first $10$ positive integers?" in item.inner_text()
    assert "reference: 55" in item.inner_text()
    sample = item.locator(".sample").first
    assert "wrong" in sample.inner_text() and 'onerror="window.pwned = 2"' in sample.inner_text()
    sample.locator("details.thinking summary").click()
    assert "</script><script>window.pwned = 1</script>" in sample.locator("details.thinking pre").inner_text()
    assert page.evaluate("window.pwned") is None
    assert page.locator("img").count() == 0 and page.locator("script").count() == 2
    assert not errors, errors


@pytest.mark.slow
def test_viewer_of_a_real_run(browser, small_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(small_run, run_dir)
    scores = [json.loads(ln) for ln in (run_dir / "aime25" / "scores.jsonl").read_text().splitlines()]
    page, errors = open_viewer(browser, run_dir / "viewer.html")  # written at the end of the run
    assert counts(page) == (2, len(scores))
    right = sum(s["value"] >= 1 for s in scores)
    page.select_option("#verdict-filter", "correct")
    assert counts(page)[1] == right
    assert page.locator('a[href="report.html"]').count() == 1
    assert not errors, errors
