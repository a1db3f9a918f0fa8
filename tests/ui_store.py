"""One run store filled by real, small runs (and a few deliberately broken ones), shared by the
dashboard and report tests. Built once per session: the real runs are the expensive part
(about a minute on 2 idle cores; tests using it allow for much more on a busy machine)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

SIMULATE = ["simulate", str(REPO / "examples" / "contract" / "ultimatum.yaml"), "--runs", "2",
            "--set", "epochs=2", "--set", "task.pairs={mixed: 2, fixed_fixed: 2}"]
CONVERSE = ["converse", str(REPO / "examples" / "converse" / "debate.yaml"), "--set", "rounds=1",
            "--set", "turn_policy.max_turns_per_round=2", "--set", "params.max_tokens=40"]


@dataclass
class UiStore:
    """Where the store is and which run is which."""

    root: Path
    contract: list[str]  # the two seeds of one `simulate --runs 2`
    converse: str
    cai: str
    garbled: str  # contract run with truncated JSON payloads
    no_transcript: str  # converse run whose transcript file is gone
    unknown: str  # a kind no page knows
    interrupted: str
    diff: str  # supervise runs: `result` events in their shapes (diff names a PNG)
    bench: str
    drift: str
    running: str


_BUILT: UiStore | None = None


def _cli(*commands: list[str], env: dict) -> None:
    """Run CLI commands one after the other (two embedded models at once on 2 cores only
    fight over them)."""
    for args in commands:
        done = subprocess.run([sys.executable, "-m", "scai.cli", *args], capture_output=True,
                              text=True, env=env, timeout=1500, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"scai {args[0]} failed: {done.stderr[-3000:]}"


def _cai_run(root: Path, out: Path) -> str:
    """A real `run_cai` recording into the store: real critique/revision generation on the
    embedded model; training and evaluation replaced by their file formats (training.csv via the
    real writer, scores as ModelScores), since real SFT/DPO takes minutes."""
    from scai.cai import pipeline
    from scai.cai.evaluate import ModelScores
    from scai.cai.train import StageResult, StepRecord, write_training_log
    from scai.kinds import load_config
    from scai.store import RunStore

    def train(config, data_dir, out_dir, *, seed, progress):
        stages = [StageResult(stage=s, checkpoint=str(out_dir / s), seconds=1.0, examples=2,
                              steps=[StepRecord(stage=s, step=k, values={
                                  "loss": 2.0 - 0.3 * k - (0.2 if s == "dpo" else 0),
                                  **({"reward_margin": 0.1 * k, "reward_accuracy": 0.5 + 0.1 * k}
                                     if s == "dpo" else {})}) for k in range(1, 4)])
                  for s in ("sft", "dpo")]
        write_training_log(stages, out_dir)
        return stages

    def evaluate(config, models, out_dir, *, data_dir, seed, cache, progress, on_call=None, store=None):
        return {m: ModelScores(attack_success=0.6 - 0.1 * i - 0.05 * seed, harm=2.0 - 0.4 * i,
                               refusal_rate_judge=0.1 * i, refusal_rate_opening=0.1 * i,
                               helpfulness=3.0 + 0.1 * seed, style=2.5 + 0.1 * i,
                               judge_failures={"harm": 0}, answers=4)
                for i, m in enumerate(models)}
    config = load_config(REPO / "examples" / "cai" / "quick.yaml",
                         ["generate.red_team=1", "generate.helpful=0", "generate.max_tokens=24"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "run_train", train)
        mp.setattr(pipeline, "eval_stage", evaluate)
        pipeline.run_cai(config, out, seeds=2, progress=False, store=RunStore(root))
    return RunStore(root).list_runs(kind="cai")[0].id


def _map_png(path: Path) -> Path:
    """A stand-in for the embedding map `scai diff` draws (two clouds of answers)."""
    from scai.report.figures import pyplot

    plt = pyplot()
    rng = __import__("random").Random(0)
    fig, ax = plt.subplots(figsize=(4, 3))
    for dx, colour, label in ((0, "#c33", "short"), (2, "#357", "long")):
        ax.scatter([rng.gauss(dx, 0.6) for _ in range(8)], [rng.gauss(0, 0.6) for _ in range(8)],
                   color=colour, label=label, s=14)
    ax.set_title("embedding map (test stand-in)", fontsize=9)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _est(mean: float, lo: float, hi: float):
    from scai.stats import Estimate

    return Estimate(n=8, mean=mean, sem=0.1, ci_low=lo, ci_high=hi)


def _diff_result(map_png: Path):
    """A small `scai diff` result (two clusters, one axis) naming the stand-in map."""
    from scai.supervise.diff import AxisRow, ClusterRow, DiffResult, Example, Failures, Separability
    from scai.supervise.diff.statistics import Clustering

    sep = Separability(features="axes", accuracy=0.81, folds=[0.8, 0.82], ci=None, p_value=0.01)
    rows = [ClusterRow(id=0, size=5, n_a=4, n_b=1, share_a=0.8, share_b=0.2,
                       expected_share_a=0.5, odds_ratio=4.0, p_value=0.01, p_adjusted=0.04,
                       significant=True, name="refuses politely", examples=[Example(
                           side="short", prompt_id="p1", prompt="Help?", text="No, sorry.")]),
            ClusterRow(id=1, size=3, n_a=1, n_b=2, share_a=1 / 3, share_b=2 / 3,
                       expected_share_a=0.5, odds_ratio=0.5, p_value=0.6, p_adjusted=0.6,
                       significant=False, name="answers tersely")]
    return DiffResult(
        run_id=None, labels=("short", "long"), n_prompts=4, samples=2, n_answers=16,
        embedding_distance=0.31, embedding_distance_ci=_est(0.31, 0.2, 0.4),
        energy_distance=0.12, energy_p_value=0.01, energy_permutations=99,
        expected_share_a=0.5, clustering=Clustering(labels=[0] * 8 + [1] * 8, k=2,
                                                    method="kmeans", criterion="silhouette",
                                                    silhouette=0.3),
        correction="holm", alpha=0.05, clusters=rows,
        axes=[AxisRow(name="verbosity", description="how long", mean_score_a=0.1,
                      mean_score_b=0.6, mean_score=_est(-0.5, -0.7, -0.3), coefficient=-1.2,
                      disagreements=1, judged=8)],
        separability=sep, embedding_separability=sep.model_copy(update={"features": "embeddings"}),
        failures=Failures(), map_png=str(map_png))


def _bench_result():
    """A `scai bench` result over two subtasks."""
    from scai.supervise.bench.result import BenchResult, Score

    score = Score(mean=0.4, ci_low=0.2, ci_high=0.6, n=10, answers=10, parse_failures=1,
                  parsed_mean=0.44, parsed_ci_low=0.2, parsed_ci_high=0.7, parsed_n=9,
                  chance=0.25, longest_choice=None)
    return BenchResult(model="local", samples=1, seed=0, temperature=0.0, overall=score,
                       per_subtask={"self_prediction": score, "value_stability": score})


def _drift_result(out: Path):
    """A `scai drift` result: three rounds, each compared with round 0 and the previous one."""
    from scai.supervise.drift import Comparison, DriftResult, RoundResult

    def comp(k: int) -> Comparison:
        return Comparison(versus="round 0", embedding_distance=0.1 * k,
                          embedding_distance_ci=(0.05 * k, 0.15 * k), energy_distance=0.3,
                          energy_p_value=0.01, cluster_shift=0.2 * k, significant_clusters=k,
                          clusters=3, axis_accuracy=0.6, embedding_accuracy=0.7)
    rounds = [RoundResult(round=0, model="hf:base", bench={"overall": 0.5})]
    rounds += [RoundResult(round=k, model=f"hf:r{k}", vs_base=comp(k), vs_prev=comp(1),
                           bench={"overall": 0.5 - 0.1 * k}) for k in (1, 2)]
    return DriftResult(run_id=None, out_dir=str(out), method="sft", report="", plot=None,
                       rounds=rounds)


def _broken_runs(root: Path, contract_id: str, converse_id: str, png: Path) -> dict[str, str]:
    from scai.store import RunStore

    store = RunStore(root)
    source = store.get(contract_id)
    garbled = store.create_run("contract", source.config, name="garbled")
    for e in store.events(contract_id):
        if e.type in ("constitution", "epoch", "episode"):
            garbled.log(e.type, e.payload, key=e.key)
    garbled.finish("completed")
    conv = store.get(converse_id)
    no_transcript = store.create_run("converse", conv.config, name="lost-transcript")
    for e in store.events(converse_id, "step"):
        no_transcript.log("step", e.payload, key=e.key)
    no_transcript.finish("completed", summary={"out_dir": str(root / "gone")})
    ids: dict[str, str] = {}
    unknown = store.create_run("mystery", {"kind": "mystery", "knob": 3}, name="odd")
    unknown.log("result", {"answer": 42, "rows": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]})
    unknown.finish("completed")
    interrupted = store.create_run("contract", source.config, name="cut-short")
    interrupted.log("constitution", {"principles": ["Share fairly."], "epoch": 0}, key="c0")
    interrupted.finish("interrupted", error="interrupted by the user (Ctrl-C)")
    # supervise results as `scai diff`, `scai bench` and `scai drift` log them: their models
    for kind, name, result in (("diff", "diff-demo", _diff_result(png)),
                               ("bench", "bench-demo", _bench_result()),
                               ("drift", "drift-demo", _drift_result(root / "drift"))):
        run = store.create_run(kind, {"kind": kind}, name=name)
        run.log("result", result.model_dump(mode="json"))
        run.finish("completed")
        ids[kind] = run.id
    running = store.create_run("contract", source.config, name="still-going")
    running.log("constitution", {"principles": ["Be kind."], "epoch": 0}, key="c0")
    with sqlite3.connect(root / "scai.sqlite") as db:  # damage two payloads, as a crash might
        db.execute("UPDATE events SET payload = substr(payload, 1, 25) WHERE id IN (SELECT id "
                   "FROM events WHERE run_id = ? AND type = 'episode' LIMIT 2)", (garbled.id,))
        db.execute("UPDATE events SET payload = '{\"principles\": [\"cut' WHERE run_id = ? AND "
                   "type = 'constitution' AND key = 'c1'", (garbled.id,))
    return {"garbled": garbled.id, "no_transcript": no_transcript.id, "unknown": unknown.id,
            "interrupted": interrupted.id, "running": running.id, **ids}


def build(base: Path) -> UiStore:
    """Run everything once (cached for the session)."""
    global _BUILT
    if _BUILT is not None:
        return _BUILT
    root = base / "runs"
    env = {**os.environ, "SCAI_RUNS_DIR": str(root), "SCAI_CACHE_DIR": str(base / "cache")}
    _cli([*SIMULATE, "--out", str(base / "contract")],
         [*CONVERSE, "--out", str(base / "converse")], env=env)
    from scai.store import RunStore

    store = RunStore(root)
    contract = [r.id for r in sorted(store.list_runs(kind="contract"), key=lambda r: r.created_at)]
    converse = store.list_runs(kind="converse")[0].id
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCAI_CACHE_DIR", str(base / "cache"))
        cai = _cai_run(root, base / "cai")
    broken = _broken_runs(root, contract[0], converse, _map_png(base / "map.png"))
    _BUILT = UiStore(root=root, contract=contract, converse=converse, cai=cai, **broken)
    return _BUILT


@pytest.fixture(scope="session")
def ui_store(tmp_path_factory) -> UiStore:
    return build(tmp_path_factory.mktemp("ui-store"))


@pytest.fixture
def ui_env(ui_store, monkeypatch) -> UiStore:
    """Point the dashboard (and `scai report`) at the shared store."""
    monkeypatch.setenv("SCAI_RUNS_DIR", str(ui_store.root))
    return ui_store
