"""Inspect AI interop: scai's tasks and model provider through Inspect's registry, and bench runs
as Inspect logs that `inspect view` serves. Real-model tests are kept to a few items."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.log import read_eval_log
from inspect_ai.model import GenerateConfig, ModelOutput, ModelUsage, get_model

from scai.cai.rubrics import shipped_rubrics
from scai.cai.scores import Answer, score
from scai.inspect.cai import cai_helpful, cai_redteam
from scai.inspect.export import write_bench_log
from scai.inspect.params import inspect_config, scai_params
from scai.inspect.reflectivity import reflectivity
from scai.supervise.bench import (
    BenchResult,
    default_items_path,
    default_seeds_path,
    load_items,
    write_items,
)
from scai.supervise.bench.answer import answer_params, item_messages, to_answer
from scai.supervise.bench.score import score_by_subtask
from tests.conftest import free_port, scai

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def inspect_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real `inspect` command line (Inspect's own entry point) in a subprocess."""
    return subprocess.run([sys.executable, "-m", "inspect_ai", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def five_items():
    """The first five items of the default dataset (what `--limit 5` runs)."""
    return load_items(default_items_path())[:5]


# ---------------------------------------------------------------------------------------------
# Without a model


def test_the_entry_point_registers_the_tasks_and_the_provider():
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="inspect_ai") if e.name == "scai"]
    assert ep.value == "scai.inspect.registry"
    from inspect_ai._util.registry import registry_lookup

    for name in ("scai/reflectivity", "scai/cai_redteam", "scai/cai_helpful"):
        assert registry_lookup("task", name) is not None, name


def test_a_bad_scai_model_string_is_one_clear_error():
    with pytest.raises(PrerequisiteError, match="unknown model 'bogus'.*local:gemma-270m"):
        get_model("scai/bogus", memoize=False)
    with pytest.raises(PrerequisiteError, match="concurency: Extra inputs"):
        get_model("scai/local", memoize=False, concurency=2)
    with pytest.raises(PrerequisiteError, match="server address must be an http"):
        get_model("scai/openai-compat:nowhere#m", memoize=False)


def test_the_cli_prints_one_line_and_fails_on_a_bad_model(tmp_path):
    r = inspect_cli("eval", "scai/reflectivity", "--model", "scai/nope", "--limit", "1",
                    "--log-dir", str(tmp_path / "logs"), "--display", "plain")
    assert r.returncode != 0
    assert "unknown model 'nope'" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    r = inspect_cli("eval", "scai/reflectivity", "-T", "subtasks=nope", "--model",
                    "mockllm/model", "--limit", "1", "--display", "plain")
    assert r.returncode != 0 and "unknown subtask nope" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def test_bench_params_cross_to_inspect_and_back_unchanged():
    # What the reflectivity task asks is what `scai bench run` asks: the same cache key.
    for item in five_items():
        params = answer_params(item, sample=0, seed=3, temperature=0.0)
        assert scai_params(GenerateConfig(**inspect_config(params))) == params


def test_reflectivity_scores_a_scripted_model_as_scai_does(tmp_path):
    items = five_items()
    # Exact replies: right, outside the options, right, not JSON, right.
    replies = [json.dumps({"answer": items[0].answer}), json.dumps({"answer": "Z"}),
               json.dumps({"answer": items[2].answer}), items[3].answer,
               json.dumps({"answer": items[4].answer})]
    by_prompt = {item_messages(it)[0].content: r for it, r in zip(items, replies)}

    def reply(messages, tools, tool_choice, config):
        out = ModelOutput.from_content("mockllm/model", by_prompt[messages[-1].text])
        # Usage given, so mockllm does not count tokens with tiktoken (a download, offline).
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    (log,) = inspect_eval(reflectivity(), model="mockllm/model", limit=5, log_dir=str(tmp_path),
                          display="none", model_args={"custom_outputs": reply})
    assert log.status == "success"
    by_id = {s.id: s.scores["bench_match"] for s in log.samples}
    assert [by_id[it.id].value for it in items] == ["C", "I", "C", "I", "C"]
    # "Z" fails the answer schema's enum and plain "B" is not JSON: both parse failures.
    assert [by_id[it.id].metadata["parse_failure"] for it in items] == \
        [False, True, False, True, False]
    parsed = [{"answer": items[0].answer}, None, {"answer": items[2].answer}, None,
              {"answer": items[4].answer}]
    answers = [to_answer(it, 0, p, r) for it, p, r in zip(items, parsed, replies)]
    per, overall = score_by_subtask(items, answers)
    metrics = {k: m.value for k, m in log.results.scores[0].metrics.items()}
    assert metrics["accuracy"] == pytest.approx(overall.mean) == 0.6
    assert metrics["ci_low"] == pytest.approx(overall.ci_low)
    assert metrics["ci_high"] == pytest.approx(overall.ci_high)
    assert metrics["parse_failures"] == pytest.approx(2 / 5)
    for subtask, found in per.items():
        assert metrics[subtask] == pytest.approx(found.mean), subtask


@contextmanager
def inspect_view(log_dir: Path):
    """`inspect view` serving `log_dir`; yields its base URL once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "inspect_ai", "view", "--log-dir",
                             str(log_dir), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{base}/api/log-files", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError("inspect view did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def served_log(base: str, path: Path) -> dict:
    """The log `inspect view` lists for `path`, as its API serves it to the viewer."""
    files = httpx.get(f"{base}/api/log-files", timeout=10).json()["files"]
    assert [Path(f["name"]).name for f in files] == [path.name]
    return httpx.get(f"{base}/api/logs/{quote(files[0]['name'], safe='')}", timeout=30).json()


def scripted_bench_log(log_dir: Path) -> tuple[Path, list]:
    """A bench result of five items (every other one answered right) written as a log."""
    items = five_items()
    answers = [to_answer(it, 0, {"answer": it.answer} if i % 2 == 0 else None, "?")
               for i, it in enumerate(items)]
    per, overall = score_by_subtask(items, answers)
    result = BenchResult(model="local", dataset=str(default_seeds_path()), samples=1, seed=0,
                         temperature=0.0, per_subtask=per, overall=overall)
    return write_bench_log(result, items, log_dir, answers=answers), items


def test_a_bench_result_as_an_inspect_log_opens_in_inspect_view(tmp_path):
    path, items = scripted_bench_log(tmp_path / "logs")
    log = read_eval_log(str(path))
    assert log.status == "success" and log.eval.task == "scai/reflectivity"
    assert log.eval.model == "scai/local" and len(log.samples) == 5
    assert [s.scores["bench_match"].value for s in log.samples] == ["C", "I", "C", "I", "C"]
    assert log.results.scores[0].metrics["accuracy"].value == pytest.approx(3 / 5)
    with inspect_view(tmp_path / "logs") as base:
        served = served_log(base, path)
        assert served["status"] == "success" and served["eval"]["task"] == "scai/reflectivity"
        assert [s["id"] for s in served["samples"]] == [it.id for it in items]


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                    reason="needs Debian packages chromium and chromium-driver")
def test_inspect_view_shows_an_exported_bench_run_in_a_browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    path, items = scripted_bench_log(tmp_path / "logs")
    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1800"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    wanted = ["scai/reflectivity", "scai/local", "ACCURACY", "0.6", "CI_LOW", items[0].id,
              items[4].id]
    try:
        with inspect_view(tmp_path / "logs") as base:
            driver.get(f"{base}/")
            WebDriverWait(driver, 90).until(
                lambda d: all(w in d.find_element(By.TAG_NAME, "body").text for w in wanted))
            assert path.name in driver.current_url  # the viewer opened the one log
    finally:
        driver.quit()


# ---------------------------------------------------------------------------------------------
# On the embedded model (SmolLM2-135M, in process), a few items each


@pytest.mark.model
def test_inspect_eval_reflectivity_on_scai_local_matches_scai_bench(tmp_path):
    r = inspect_cli("eval", "scai/reflectivity", "--model", "scai/local", "--limit", "5",
                    "--log-dir", str(tmp_path / "logs"), "--display", "none")
    assert r.returncode == 0, r.stdout + r.stderr
    (path,) = (tmp_path / "logs").glob("*.eval")
    log = read_eval_log(str(path))
    assert log.status == "success" and log.eval.model == "scai/local"
    assert len(log.samples) == 5
    with inspect_view(tmp_path / "logs") as base:
        assert served_log(base, path)["status"] == "success"
    # scai's own run of the same items: its answers come from the cache the Inspect run filled
    # (same prompt, params and seed), and it scores them the same way.
    items = five_items()
    out = tmp_path / "bench"
    r = scai("bench", "run", str(_dataset(tmp_path, items)), "--out", str(out))
    assert r.returncode == 0, r.stderr
    mine = {json.loads(line)["item_id"]: json.loads(line)
            for line in (out / "answers.jsonl").read_text().splitlines()}
    for s in log.samples:
        assert (s.scores["bench_match"].value == "C") == mine[s.id]["correct"], s.id
        assert s.scores["bench_match"].answer == mine[s.id]["answer"]
    result = json.loads((out / "results.json").read_text())
    metrics = log.results.scores[0].metrics
    assert metrics["accuracy"].value == pytest.approx(result["overall"]["mean"])
    assert metrics["ci_high"].value == pytest.approx(result["overall"]["ci_high"])


def _dataset(tmp_path: Path, items) -> Path:
    path = tmp_path / "items.jsonl"
    write_items(path, items)
    return path


@pytest.mark.model
def test_bench_run_writes_an_inspect_log_of_its_answers(tmp_path):
    items = load_items(default_seeds_path())[:3]
    r = scai("bench", "run", str(_dataset(tmp_path, items)), "--out", str(tmp_path / "res"),
             "--inspect-log", str(tmp_path / "logs"))
    assert r.returncode == 0, r.stderr
    (path,) = (tmp_path / "logs").glob("*_reflectivity_*.eval")
    assert path.name in r.stdout.replace("\n", "")
    log = read_eval_log(str(path))
    answers = [json.loads(line) for line in (tmp_path / "res" / "answers.jsonl").read_text()
               .splitlines()]
    assert [s.id for s in log.samples] == [a["item_id"] for a in answers]
    assert [s.scores["bench_match"].value == "C" for s in log.samples] == \
        [a["correct"] for a in answers]
    result = json.loads((tmp_path / "res" / "results.json").read_text())
    assert log.results.scores[0].metrics["accuracy"].value == \
        pytest.approx(result["overall"]["mean"])
    assert log.eval.metadata["run_id"] == result["run_id"]


@pytest.mark.model
def test_cai_tasks_run_on_scai_local_with_scai_metrics(tmp_path):
    logs = inspect_eval([cai_redteam(), cai_helpful()], model="scai/local", limit=2,
                        max_tokens=24, log_dir=str(tmp_path), display="none")
    assert [log.status for log in logs] == ["success", "success"]
    for log, rubric in zip(logs, ["harm", "helpfulness"]):
        assert len(log.samples) == 2
        # scai's sampling on the task (temperature, stops); the eval's --max-tokens wins.
        config = log.plan.config
        assert config.max_tokens == 24 and config.temperature == 0.7
        assert config.stop_seqs == ["<|im_end|>", "\nUser:", "\nuser:"]
        metrics = {k: m.value for k, m in log.results.scores[0].metrics.items()}
        found = shipped_rubrics()[rubric]
        answers = [Answer.model_validate(s.scores["rubric_judge"].metadata["answer"])
                   for s in log.samples]
        assert all(len(a.reply) > 0 for a in answers)
        mine = score(answers, [found]).rubrics[rubric]
        assert metrics["judge_failures"] == mine.failures
        for name in found.reported:
            if mine.metrics[name] is not None:
                assert metrics[name] == pytest.approx(mine.metrics[name]), name
    red = {k: m.value for k, m in logs[0].results.scores[0].metrics.items()}
    assert {"attack_success", "refusal_rate_opening", "judge_failures"} <= set(red)
    assert 0.0 <= red["attack_success"] <= 1.0 and 0.0 <= red["refusal_rate_opening"] <= 1.0


@pytest.mark.model
async def test_the_provider_serves_gemma_and_a_server_through_scai_cache(llama_server):
    config = GenerateConfig(max_tokens=6, temperature=0.0, seed=1)
    for name in ("scai/local:gemma-270m", f"scai/openai-compat:{llama_server}#smollm2"):
        model = get_model(name, memoize=False)
        first = await model.generate("Name a fruit.", config=config)
        again = await model.generate("Name a fruit.", config=config)
        assert first.completion.strip() and again.completion == first.completion, name
        assert first.usage.output_tokens > 0
        stats = model.api.client.stats
        assert (stats.calls, stats.cache_hits) == (2, 1), name  # the seeded repeat: scai's cache
