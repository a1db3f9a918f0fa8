"""Sweep files without Ray: grid expansion, run names, bad files, the server limit, the report."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import threading
from pathlib import Path

import pytest

from scai.errors import ConfigError
from scai.kinds import all_kinds, load_config
from scai.sweep import SweepDir, plan_sweep, run_name
from scai.sweep.limits import ProcessLimit, shares
from scai.sweep.report import write_report
from scai.sweep.runners import runner_for
from tests.conftest import REPO, scai

CONTRACT = REPO / "examples" / "contract" / "ultimatum.yaml"


def sweep_file(tmp_path: Path, body: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"kind: sweep\nname: t\nbase: {CONTRACT}\n{body}")
    return path


def plan(tmp_path: Path, body: str):
    return plan_sweep(load_config(sweep_file(tmp_path, body)))


def test_grid_is_the_cartesian_product_crossed_with_variants_and_seeds(tmp_path):
    p = plan(tmp_path, "grid: {params.temperature: [0.2, 1.0], task.flexible: [1, 2, 3]}\n"
                       "variants: [{task.prior: selfish}, {task.prior: fair}]\nseeds: 2\n")
    assert len(p.runs) == 2 * 3 * 2 * 2
    assert p.params == ["task.prior", "params.temperature", "task.flexible"]
    first = p.runs[0]
    assert first.params == {"task.prior": "selfish", "params.temperature": 0.2,
                            "task.flexible": 1} and first.seed == 0
    # Every run's config really carries its values (validated, defaults filled).
    last = p.runs[-1]
    assert last.config["task"]["prior"] == "fair" and last.config["task"]["flexible"] == 3
    assert last.config["params"]["temperature"] == 1.0 and last.config["seed"] == 1
    assert len({r.name for r in p.runs}) == len(p.runs)


def test_fixed_overrides_apply_to_every_run(tmp_path):
    p = plan(tmp_path, "set: [epochs=1]\ngrid: {task.flexible: [1, 2]}\nseeds: [5]\n")
    assert [r.config["epochs"] for r in p.runs] == [1, 1]
    assert [r.seed for r in p.runs] == [5, 5] and p.runs[0].config["seed"] == 5


def test_run_names_are_readable_deterministic_and_distinct():
    assert run_name({"params.temperature": 0.7}, 1) == "temperature=0.7_seed=1"
    assert run_name({"params.temperature": 0.7}, 1) == run_name({"params.temperature": 0.7}, 1)
    # The same last part under two keys: the full keys are kept.
    both = ["a.size", "b.size"]
    assert run_name({"a.size": 1, "b.size": 2}, 0, both) == "a.size=1_b.size=2_seed=0"
    # Odd characters are replaced, and a hash keeps two such names apart.
    x, y = run_name({"m": "a/b"}, 0), run_name({"m": "a b"}, 0)
    assert x != y and "/" not in x and " " not in y and x.startswith("m=a-b_seed=0-")
    long = run_name({"k": "v" * 300}, 0)
    assert len(long) <= 80


def test_seeds_as_a_count(tmp_path):
    assert [r.seed for r in plan(tmp_path, "seeds: 3\n").runs] == [0, 1, 2]


@pytest.mark.parametrize("body, message", [
    ("grid: {}\n", "grid: empty"),
    ("grid: {params.temperature: []}\n", "no values"),
    ("grid: {task.flexibel: [1, 2]}\n", "flexibel: unknown key"),
    ("variants: [{params.temperature: hot}]\n", "params.temperature"),
])
def test_bad_sweep_files_fail_with_one_line_before_any_worker(tmp_path, body, message):
    r = scai("sweep", str(sweep_file(tmp_path, body)), "--out", str(tmp_path / "o"))
    assert r.returncode != 0
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_base_of_an_unknown_or_unsweepable_kind_is_refused(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("kind: nonesuch\n")
    path = tmp_path / "s.yaml"
    path.write_text(f"kind: sweep\nbase: {base}\n")
    with pytest.raises(ConfigError, match="unknown kind 'nonesuch'"):
        plan_sweep(load_config(path))
    base.write_text(f"kind: sweep\nbase: {path}\n")
    with pytest.raises(ConfigError, match="itself a sweep"):
        plan_sweep(load_config(path))
    r = scai("sweep", str(path))
    assert r.returncode != 0 and "itself a sweep" in r.stderr and "Traceback" not in r.stderr


def test_a_kind_whose_module_is_missing_is_a_clear_error(monkeypatch):
    kinds = all_kinds()
    monkeypatch.setitem(kinds, "contract",
                        dataclasses.replace(kinds["contract"], run="scai.nowhere.missing:run"))
    with pytest.raises(ConfigError, match="needs the module scai.nowhere.missing"):
        runner_for("contract")
    with pytest.raises(ConfigError, match="cannot be swept"):
        runner_for("validate-only-kind")


def test_server_limit_is_shared_by_runs_on_different_threads_and_loops():
    assert shares(8, 3) == [3, 3, 2] and shares(2, 4) == [1, 1, 1, 1]
    limit = ProcessLimit(3)
    in_flight, most = [0], [0]
    guard = threading.Lock()

    async def call():
        await limit.acquire()
        try:
            with guard:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            await asyncio.sleep(0.01)
            with guard:
                in_flight[0] -= 1
        finally:
            limit.release()

    async def run():  # one "run": its own event loop with 5 concurrent calls
        await asyncio.gather(*(call() for _ in range(5)))

    threads = [threading.Thread(target=asyncio.run, args=(run(),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most[0] == 3 and limit.in_flight_max == 3 and in_flight[0] == 0


def test_report_merges_runs_into_a_table_and_plots_each_metric(tmp_path):
    p = plan(tmp_path, "grid: {params.temperature: [0.2, 1.0]}\nseeds: 3\n")
    folder = SweepDir(tmp_path / "sw")
    folder.save_plan(p)
    for i, spec in enumerate(p.runs):
        if spec.name == "temperature=1.0_seed=2":
            folder.record(spec, "failed", error="ModelError: boom", attempts=2)
            continue
        folder.record(spec, "done", metrics={"acceptance": 0.5 + 0.1 * (i % 3),
                                             "games": 2.0})
    rep = write_report(folder.root)
    assert (rep.runs, rep.failed, rep.missing) == (6, 1, 0)
    rows = list(csv.DictReader(open(rep.csv)))
    assert len(rows) == 6
    assert rows[0]["params.temperature"] == "0.2" and rows[0]["seed"] == "0"
    assert rows[0]["acceptance"] == "0.5" and rows[0]["status"] == "done"
    assert rows[5]["status"] == "failed" and rows[5]["error"] == "ModelError: boom"
    md = Path(rep.markdown).read_text()
    assert "0.600 [" in md and "(n=3)" in md  # mean and CI of 0.5, 0.6, 0.7
    assert {Path(x).name for x in rep.plots} == {"acceptance.png", "games.png"}
    assert all(Path(x).stat().st_size > 5000 for x in rep.plots)


def test_sweep_report_of_a_folder_that_is_not_a_sweep(tmp_path):
    r = scai("sweep-report", str(tmp_path))
    assert r.returncode != 0 and "not a sweep folder" in r.stderr


@pytest.mark.parametrize("base", ["batch.yaml", "supervise/diff.yaml", "cai/quick.yaml",
                                  "supervise/drift.yaml", "converse/debate.yaml"])
def test_the_command_line_plans_sweeps_of_every_kind(tmp_path, base):
    # The command loads only some kinds itself; planning must know them all. A typo in the
    # grid is reported for the run (the base's kind was understood), before Ray starts.
    path = tmp_path / "s.yaml"
    path.write_text(f"kind: sweep\nbase: {REPO / 'examples' / base}\n"
                    "grid: {no_such_key: [1]}\n")
    r = scai("sweep", str(path), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "unknown kind" not in r.stderr, r.stderr
    assert "run no_such_key=1_seed=0: no_such_key: unknown key" in r.stderr


def test_a_garbled_plan_or_run_record_is_one_line_not_a_traceback(tmp_path):
    p = plan(tmp_path, "grid: {params.temperature: [0.2, 1.0]}\n")
    folder = SweepDir(tmp_path / "sw")
    folder.save_plan(p)
    folder.record(p.runs[0], "done", metrics={"acceptance": 0.5})
    # A half-written or hand-edited done.json: that run counts as not finished.
    (folder.run_dir(p.runs[1].name)).mkdir(parents=True)
    (folder.run_dir(p.runs[1].name) / "done.json").write_text('{"name": ')
    assert folder.finished(p) == {p.runs[0].name}
    r = scai("sweep-report", str(folder.root))
    assert r.returncode == 0 and "1 runs (0 failed, 1 not run yet)" in r.stdout
    folder.plan_path.write_text("{not json")
    r = scai("sweep-report", str(folder.root))
    assert r.returncode != 0 and "not a readable sweep plan" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_finished_run_whose_config_changed_is_not_silently_reused(tmp_path):
    from scai.sweep import run_sweep

    p = plan(tmp_path, "set: [epochs=1]\ngrid: {params.temperature: [0.2, 1.0]}\n")
    folder = SweepDir(tmp_path / "sw")
    folder.save_plan(p)
    for spec in p.runs:
        folder.record(spec, "done", metrics={"acceptance": 0.5})
    assert folder.finished(p) == {r.name for r in p.runs}
    # The same runs (same names) under an edited `set`: their results would be mislabelled.
    edited = load_config(sweep_file(tmp_path, "set: [epochs=2]\n"
                                    "grid: {params.temperature: [0.2, 1.0]}\n", "s2.yaml"))
    with pytest.raises(ConfigError, match="finished with a different config"):
        run_sweep(edited, folder.root, progress=False)
    # Growing the grid keeps the finished runs and needs only the new one (nothing starts
    # here: the check comes before Ray).
    grown = plan(tmp_path, "set: [epochs=1]\ngrid: {params.temperature: [0.2, 1.0, 1.5]}\n")
    assert folder.finished(grown) == {r.name for r in p.runs}


def test_a_grid_of_absurd_size_is_refused_before_expanding(tmp_path):
    values = list(range(100))
    with pytest.raises(ConfigError, match="1,000,000 runs"):
        plan(tmp_path, f"grid: {{params.temperature: {values}, task.flexible: {values}}}\n"
                       f"seeds: 100\n")


def test_a_ray_address_nobody_answers_at_is_one_line_not_a_hang(tmp_path):
    from tests.conftest import free_port

    path = sweep_file(tmp_path, "seeds: 1\n")
    r = scai("sweep", str(path), "--ray", f"127.0.0.1:{free_port()}", "--out", str(tmp_path / "o"),
             timeout=60)
    assert r.returncode != 0 and "nothing answers there" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


def test_every_finite_number_of_a_result_becomes_a_named_metric():
    from scai.kinds import scalars
    from scai.stats import mean_ci

    found = scalars({"acceptance": 0.5, "games": 8, "ok": True, "gap": None,
                     "bad": float("nan"), "text": "x",
                     "judge": {"helpful": 4, "deep": {"too": 1}}, "ci": mean_ci([1, 3])})
    assert found == {"acceptance": 0.5, "games": 8.0, "judge.helpful": 4.0, "ci.n": 2.0,
                     "ci.mean": 2.0, "ci.sem": 1.0, "ci.ci_low": found["ci.ci_low"],
                     "ci.ci_high": found["ci.ci_high"]}
    assert found["ci.ci_low"] < 2 < found["ci.ci_high"]
