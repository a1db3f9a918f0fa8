"""Per-group constitutions: each group's own constitution, the router, the shared arm beside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scai.contract import simulate
from scai.contract.constitution import Constitution
from scai.contract.episode import Player
from scai.contract.learner import LEARNERS, LearnContext, MetaLearner
from scai.contract.router import accuracy, observed_route
from scai.kinds import load_config
from scai.store import RunStore
from tests.conftest import REPO, scai
from tests.contract_script import ContractScript

KEEP = "Keep most of what you have for yourself."
GIVE = "Give others most of what you have."
BASE = """\
kind: contract
name: groups
seed: 5
epochs: {epochs}
task:
  type: ultimatum
  flexible: 1
  fixed: 8
  users: scripted
  groups: [{{policy: selfish}}, {{policy: altruistic}}]
  pairs: {{fixed_fixed: 8, mixed: 16}}
  amount: [20, 40]
  prior: fair
learner: {{type: {learner}}}
groups: {groups}
"""


class Mirror(MetaLearner):
    """A learner with a known answer: the principle that matches the users it was shown."""

    async def learn(self, ctx: LearnContext) -> Constitution:
        offers = [e.data.share for e in ctx.played
                  if e.data.proposer.kind == "fixed" and e.data.share is not None]
        mean = sum(offers) / len(offers)
        return Constitution(principles=[KEEP if mean < 0.5 else GIVE], epoch=ctx.epoch + 1,
                            rationale=f"{len(offers)} user offers, mean {mean:.2f}",
                            source="mirror")


class Follows(ContractScript):
    """An assistant that offers 10% under KEEP, 90% under GIVE, half otherwise."""

    def _reply(self, messages, params):
        system = messages[0].content
        self.offer_share = 0.1 if KEEP in system else 0.9 if GIVE in system else 0.5
        return super()._reply(messages, params)


@pytest.fixture
def mirror():
    LEARNERS["mirror"] = Mirror
    yield
    LEARNERS.pop("mirror")


def config(tmp_path: Path, groups: str, epochs: int = 3, learner: str = "mirror"):
    path = tmp_path / "groups.yaml"
    path.write_text(BASE.format(epochs=epochs, learner=learner, groups=groups))
    return load_config(path)


def test_per_group_oracle_learns_one_constitution_per_group(tmp_path, mirror):
    cfg = config(tmp_path, "{mode: per_group, router: oracle}")
    store = RunStore(tmp_path / "runs")
    sim = simulate(cfg, store, out_dir=tmp_path / "out", progress=False, backend=Follows())
    r = sim.runs[0]
    assert r.groups == "per_group/oracle"
    last = r.epochs[-1]
    assert {s: c.principles for s, c in last.groups.items()} == {
        "selfish": [KEEP], "altruistic": [GIVE]}
    assert [e.metrics["routing_accuracy"] for e in r.epochs] == [1.0, 1.0, 1.0]
    # Facing each group, the assistant now offers what that group offers.
    assert last.metrics["group_share:selfish"] == pytest.approx(0.1, abs=0.03)
    assert last.metrics["group_share:altruistic"] == pytest.approx(0.9, abs=0.03)
    assert last.metrics["group_gap:selfish"] < 0.15 and last.metrics["group_gap:altruistic"] < 0.15
    # The shared arm: one constitution from everyone's offers serves one group badly.
    base = r.baseline
    assert base is not None and base.groups == "shared"
    assert base.epochs[-1].constitution.principles in ([KEEP], [GIVE])
    m = base.epochs[-1].metrics
    assert max(m["group_gap:selfish"], m["group_gap:altruistic"]) > 0.6
    events = {e.key for e in store.events(r.run_id, "constitution")}
    assert {"c0", "c1@selfish", "c2@altruistic", "c2"} <= events
    assert len(store.events(r.run_id, "route")) == 3
    out = tmp_path / "out"
    assert (out / "groups.png").stat().st_size > 5000
    assert (out / "shared" / "metrics.json").exists()
    saved = json.loads((out / "groups.json").read_text())
    assert saved["epochs"][2]["constitutions"] == {"altruistic": GIVE, "selfish": KEEP}
    assert saved["shared"]["run_id"] == base.run_id
    summary = (out / "summary.md").read_text()
    assert "Per-group constitutions" in summary and "shared: gap" in summary
    assert "## Group slot selfish" in (out / "constitutions.md").read_text()
    # The dashboard's page of the run draws the per-group curves and the router.
    from scai.report.blocks import Figure
    from scai.report.contract import contract_blocks
    from scai.report.reader import StoreReader

    reader = StoreReader(tmp_path / "runs")
    figures = [b.name for b in contract_blocks(reader, reader.load(r.run_id))
               if isinstance(b, Figure)]
    assert {"group_share", "group_gap", "routing"} <= set(figures)


@pytest.mark.parametrize("groups", ["{mode: per_group, router: observed, baseline: false}",
                                    "{mode: per_group, router: oracle, baseline: true}"])
def test_a_resumed_per_group_run_replays_routes_and_constitutions(tmp_path, mirror, groups):
    cfg = config(tmp_path, groups)
    store = RunStore(tmp_path / "runs")
    first = simulate(cfg, store, out_dir=tmp_path / "a", progress=False, backend=Follows())
    backend = Follows()
    again = simulate(cfg, store, resume=first.runs[0].run_id, out_dir=tmp_path / "b",
                     progress=False, backend=backend)
    assert backend.calls == [] and again.runs[0].episodes_run == 0
    a, b = first.runs[0], again.runs[0]
    assert [e.route for e in a.epochs] == [e.route for e in b.epochs]
    assert [e.groups for e in a.epochs] == [e.groups for e in b.epochs]
    assert len(store.events(a.run_id, "route")) == 3
    if a.baseline is not None:  # the shared arm is resumed too, not started again
        assert b.baseline.run_id == a.baseline.run_id and b.baseline.episodes_run == 0
        assert len([r for r in store.list_runs() if r.name == "groups-shared"]) == 1


@pytest.mark.embedder
def test_observed_router_separates_users_by_what_they_did(tmp_path, mirror):
    cfg = config(tmp_path, "{mode: per_group, router: observed, baseline: false}", epochs=4)
    sim = simulate(cfg, RunStore(tmp_path / "runs"), out_dir=tmp_path / "out", progress=False,
                   backend=Follows())
    acc = [e.metrics["routing_accuracy"] for e in sim.runs[0].epochs]
    assert acc[-1] == 1.0  # after three epochs every user has offered at least once
    last = sim.runs[0].epochs[-1]
    assert sorted(c.principles[0] for c in last.groups.values()) == sorted([KEEP, GIVE])
    assert set(last.groups) == {"cluster-0", "cluster-1"}


@pytest.mark.embedder
def test_observed_router_on_clearly_separated_personas():
    users = [Player(id=f"u{i}", name=f"U{i}", kind="fixed", persona=text) for i, text in
             enumerate(["A pirate captain who shouts about gold and the sea."] * 3
                       + ["A quiet librarian who loves poetry and old books."] * 3)]
    truth = {u.id: "pirates" if i < 3 else "readers" for i, u in enumerate(users)}
    route = observed_route(0, users, truth, [], ["cluster-0", "cluster-1"], seed=1,
                           text_weight=1.0)
    assert route.accuracy == 1.0
    assert len(set(route.slots.values())) == 2


def test_routing_accuracy_matches_slots_to_groups_one_to_one():
    truth = {"a": "x", "b": "x", "c": "y", "d": "y"}
    assert accuracy({"a": "s1", "b": "s1", "c": "s0", "d": "s0"}, truth) == 1.0
    assert accuracy({"a": "s0", "b": "s1", "c": "s0", "d": "s0"}, truth) == 0.75
    assert accuracy({"a": "s0", "b": "s0", "c": "s0", "d": "s0"}, truth) == 0.5


def test_shared_mode_of_a_mixed_society_reports_each_group(tmp_path, mirror):
    sim = simulate(config(tmp_path, "{mode: shared}", epochs=2), out_dir=tmp_path / "out",
                   progress=False, backend=Follows())
    r = sim.runs[0]
    assert r.groups == "shared" and r.baseline is None and r.epochs[-1].groups is None
    assert r.epochs[-1].constitution.principles in ([KEEP], [GIVE])
    assert 0.0 <= r.epochs[0].metrics["group_norm:selfish"] <= 0.2
    assert "routing_accuracy" not in r.epochs[0].metrics


@pytest.mark.parametrize("groups, task, needle", [
    ("{mode: per_group}", "groups: [{policy: selfish}]", "two or more groups"),
    ("{mode: per_group}", "groups: [{policy: selfish, weight: 20}, {policy: altruistic}]",
     "leaves a group without users"),
    ("{mode: each}", "groups: [{policy: selfish}, {policy: altruistic}]", "groups.mode"),
    ("{mode: per_group, router: psychic}", "groups: [{policy: selfish}, {policy: fair}]",
     "groups.router"),
])
def test_per_group_config_errors_are_one_line(tmp_path, groups, task, needle):
    text = BASE.format(epochs=2, learner="none", groups=groups).replace(
        "groups: [{policy: selfish}, {policy: altruistic}]", task)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    res = scai("simulate", str(path), "--no-steer-check")
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.stderr


@pytest.mark.parametrize("task", [
    "{type: assistance, user_kind: scripted}",
    # groups of users, but one shared pot: no game in which to route a user to a constitution
    "{type: public_goods, groups: [{policy: free_rider}, {policy: cooperator}]}",
])
def test_per_group_needs_a_one_to_one_game(tmp_path, task):
    path = tmp_path / "bad.yaml"
    path.write_text(f"kind: contract\ntask: {task}\ngroups: {{mode: per_group}}\n")
    res = scai("simulate", str(path))
    assert res.returncode != 0 and "one user at a time" in res.stderr
    assert "task.type ultimatum or dictator" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_subgroups_example_validates():
    cfg = load_config(REPO / "examples" / "contract" / "subgroups.yaml")
    assert cfg.groups.mode == "per_group" and cfg.learner.type == "bayes"
    assert {g.policy for g in cfg.task.groups} == {"selfish", "altruistic"}


@pytest.mark.model
def test_per_group_bayes_on_the_embedded_model(tmp_path):
    """`scai simulate` with the real model and the bayes learner: a posterior per group, its
    own scoring steps, the shared arm beside, the per-group table and the router's line."""
    path = tmp_path / "real.yaml"
    path.write_text(BASE.format(epochs=2, learner="bayes, proposals: 0, decisions: 0",
                                groups="{mode: per_group}")
                    .replace("fixed: 8", "fixed: 4").replace("[20, 40]", "[5, 5]")
                    .replace("{fixed_fixed: 8, mixed: 16}", "{fixed_fixed: 2, mixed: 2}"))
    res = scai("simulate", str(path), "--no-steer-check", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    assert "routing accuracy by epoch: e0 1.00 (n=1), e1 1.00 (n=1)" in res.stdout
    assert "selfish" in res.stdout and "altruistic" in res.stdout
    saved = json.loads((tmp_path / "out" / "groups.json").read_text())
    assert set(saved["epochs"][1]["constitutions"]) == {"selfish", "altruistic"}
    assert (tmp_path / "out" / "groups.png").exists() and saved["shared"] is not None
    store = RunStore(tmp_path / "runs")
    last = {e.key: e.payload for e in store.events(saved["run_id"], "constitution")}
    for slot in ("selfish", "altruistic"):
        c = Constitution.model_validate(last[f"c1@{slot}"])
        assert c.source == "bayes" and len(c.posterior) == 3  # the three priors, no proposals
    steps = {e.key for e in store.events(saved["run_id"], "step")}
    assert any(k.startswith("grp:selfish|e0|lik|") for k in steps)
    assert any(k.startswith("grp:altruistic|e0|lik|") for k in steps)


@pytest.mark.parametrize("name, runs", [("priors-temperature-ratio", 81), ("currencies", 24),
                                        ("mixed-ratio", 18)])
def test_the_ablation_sweeps_plan_every_run(name, runs):
    from scai.sweep.grid import plan_sweep

    plan = plan_sweep(load_config(REPO / "examples" / "contract" / "ablations" / f"{name}.yaml"))
    assert len(plan.runs) == runs and plan.kind == "contract"
    assert len({r.name for r in plan.runs}) == runs
    if name == "priors-temperature-ratio":
        ratios = {(r.config["task"]["flexible"], r.config["task"]["fixed"]) for r in plan.runs}
        temps = {r.config["params"]["temperature"] for r in plan.runs}
        assert ratios == {(1, 9), (5, 5), (9, 1)} and temps == {0.0, 0.5, 1.0}
    if name == "currencies":
        assert {tuple(r.config["task"]["currencies"]) for r in plan.runs} == {
            ("dollars",), ("favours",), ("hours of time",), ("doses of medicine",)}
    if name == "mixed-ratio":
        assert {r.config["groups"]["mode"] for r in plan.runs} == {"per_group"}
        assert {tuple(g["weight"] for g in r.config["task"]["groups"]) for r in plan.runs} == {
            (4, 1), (1, 1), (0.25, 1)}


def test_a_sweep_over_list_values_reports_and_plots(tmp_path):
    """The currencies sweep varies a list (`task.currencies`): the report still plots it."""
    from scai.sweep import SweepDir, plan_sweep
    from scai.sweep.report import write_report

    plan = plan_sweep(load_config(REPO / "examples" / "contract" / "ablations" / "currencies.yaml"))
    folder = SweepDir(tmp_path / "sw")
    folder.save_plan(plan)
    for i, spec in enumerate(plan.runs):
        folder.record(spec, "done", metrics={"share_flexible": 0.1 * (i % 4)})
    rep = write_report(folder.root)
    assert rep.runs == 24 and [Path(p).name for p in rep.plots] == ["share_flexible.png"]
    assert '["hours of time"]' in Path(rep.markdown).read_text()
