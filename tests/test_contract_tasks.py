"""Games and learners are plug-ins. A game is a config class, a Task and its prompts: a third game
defined here, registered at test time, runs through `simulate` like the shipped ones (learning,
metrics, reports, resume). A learner is one class in LEARNERS."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel

from scai.contract import simulate
from scai.contract.constitution import Constitution
from scai.contract.episode import Episode
from scai.contract.metalearn import LEARNERS, LearnContext, MetaLearner
from scai.contract.tasks import TASKS, Panel, Task, TaskConfig
from scai.contract.tasks.base import play_all
from scai.errors import ConfigError
from scai.kinds import load_config
from scai.llm import Message
from scai.llm.backend import Backend
from scai.llm.types import GenerationParams, RawCompletion
from scai.prompts import PromptBook, PromptTemplate
from scai.store import RunStore

# -- the game: the assistant picks a number; a pick at or above the target is a hit --------------


class GuessTask(TaskConfig):
    """The config section: `task: {type: guess, rounds: N, target: T}`."""

    type: Literal["guess"] = "guess"
    rounds: int = 3
    target: int = 6


class GuessOutcome(BaseModel):
    """One round: the number picked (None: the reply failed its schema) and whether it hit."""

    pick: int | None = None
    hit: bool | None = None


PICK = {"type": "object", "properties": {"pick": {"type": "integer", "minimum": 1,
                                                   "maximum": 10}}, "required": ["pick"]}


def _template(name: str, text: str, *variables: str) -> PromptTemplate:
    return PromptTemplate(name=name, text=text, variables=list(variables))


class Guess(Task):
    """The smallest game: one structured action per episode, two metrics, one plot."""

    type = "guess"
    config = GuessTask
    outcome = GuessOutcome
    prompts = PromptBook({t.name: t for t in [
        _template("system", "Follow this principle: {principles}", "principles"),
        _template("pick", 'Pick a number from 1 to 10. Answer in JSON: "pick".'),
        _template("objective", "Goal: hit the target more often."),
    ]})
    game_words = ("guess",)
    shown = brief = ("pick_mean", "hits", "parse_failures")
    panels = (Panel("picks", "picks", "number picked", {"assistant": "pick_mean"}),)
    summary_plot = "picks"
    cfg: GuessTask

    def initial_constitution(self, prior: str) -> Constitution:
        return Constitution(principles=["Pick small numbers."])

    @classmethod
    def per_epoch(cls, cfg: GuessTask) -> int:  # type: ignore[override]
        return cfg.rounds

    async def play_epoch(self, epoch, constitution, done, on_episode):
        return await play_all([(f"e{epoch}-q{i}", lambda i=i: self.round(epoch, i, constitution))
                               for i in range(self.cfg.rounds)], done, on_episode)

    async def round(self, epoch: int, i: int, constitution: Constitution) -> Episode:
        ep = Episode[GuessOutcome](id=f"e{epoch}-q{i}", epoch=epoch, task="guess",
                                   data=GuessOutcome())
        messages = [Message(role="system", content=self.prompts["system"].render(
                        principles=constitution.text())),
                    Message(role="user", content=self.prompts["pick"].render())]
        parsed = await self.table.steps.structured(self.table.model, f"e{epoch}|q{i}|pick",
                                                   messages, PICK, kind="pick")
        if parsed is None:
            ep.failures.append("pick")
            return ep
        ep.data.pick, ep.data.hit = parsed["pick"], parsed["pick"] >= self.cfg.target
        ep.say("Assistant", "assistant", f"Assistant picks {parsed['pick']}.")
        return ep

    def metrics(self, episodes):
        picks = [e.data for e in episodes if e.data.pick is not None]
        return {"pick_mean": sum(p.pick for p in picks) / len(picks) if picks else None,
                "hits": sum(p.hit for p in picks) / len(picks) if picks else None,
                "parse_failures": float(sum(len(e.failures) for e in episodes))}

    def score_text(self, metrics):
        return f"hit {metrics['hits']:.0%}" if metrics["hits"] is not None else "no picks"

    def objective(self) -> str:
        return self.prompts["objective"].render()


class GuessScript(Backend):
    """Picks 9 under a principle that says 'large', else 2; the meta-learner says 'large'."""

    identity = "scripted:guess"

    def __init__(self, principles: list[str]):
        self.principles = list(principles)
        self.calls: list[tuple[list[Message], GenerationParams]] = []

    async def generate(self, messages, params) -> RawCompletion:
        self.calls.append((messages, params))
        props = params.json_schema["properties"]
        if "pick" in props:
            reply = {"pick": 9 if "large" in messages[0].content else 2}
        else:
            reply = {"critique": "It aims low.", "principle": self.principles.pop(0)}
        return RawCompletion(text=json.dumps(reply), prompt_tokens=5, completion_tokens=3)

    async def check(self) -> str:
        return "scripted"


@pytest.fixture
def guess(monkeypatch, tmp_path):
    monkeypatch.setitem(TASKS, "guess", Guess)
    path = tmp_path / "guess.yaml"
    path.write_text("kind: contract\nname: guess\nepochs: 3\ntask: {type: guess, rounds: 4}\n"
                    "learner: {retries: 0}\n")
    return load_config(path)


def test_a_game_defined_outside_scai_runs_learns_and_reports_exactly(guess, tmp_path):
    backend = GuessScript(["Guess higher every time.", "Pick large numbers."])
    sim = simulate(guess, out_dir=tmp_path / "o", progress=False, backend=backend)
    r = sim.runs[0]
    assert [e.metrics for e in r.epochs] == [
        {"pick_mean": 2.0, "hits": 0.0, "parse_failures": 0.0},
        {"pick_mean": 2.0, "hits": 0.0, "parse_failures": 0.0},
        {"pick_mean": 9.0, "hits": 1.0, "parse_failures": 0.0}]
    # the game's own word is refused ("guess"), so epoch 1 keeps the old principle
    sources = [(e.constitution.source, e.constitution.principles) for e in r.epochs]
    assert sources == [("prior", ["Pick small numbers."]), ("kept", ["Pick small numbers."]),
                       ("rewrite", ["Pick large numbers."])]
    assert "mentions 'guess'" in r.epochs[1].constitution.rationale
    meta = [m[-1].content for m, p in backend.calls if "critique" in p.json_schema["properties"]]
    assert len(meta) == 2 and "Goal: hit the target more often." in meta[0]
    assert '"Pick small numbers." (hit 0%)' in meta[1]
    assert r.model_calls == 12 + 2 and r.episodes_run == 12
    out = tmp_path / "o"
    assert (out / "picks.png").read_bytes()[:4] == b"\x89PNG" and sim.plot == str(out / "picks.png")
    summary = (out / "summary.md").read_text()
    assert "| epoch | pick_mean | hits | parse_failures |" in summary and "9.00 (n=1)" in summary
    stored = RunStore().events(r.run_id, "episode")
    assert len(stored) == 12 and stored[0].payload["data"] == {"pick": 2, "hit": False}


def test_a_finished_run_of_the_new_game_resumes_with_no_model_call(guess, tmp_path):
    first = simulate(guess, out_dir=tmp_path / "o", progress=False,
                     backend=GuessScript(["Pick large numbers.", "Pick large numbers."]))
    again = GuessScript([])
    sim = simulate(guess, resume=first.runs[0].run_id, out_dir=tmp_path / "r", progress=False,
                   backend=again)
    r = sim.runs[0]
    assert again.calls == [] and r.episodes_replayed == 12 and r.episodes_run == 0
    assert [e.metrics for e in r.epochs] == [e.metrics for e in first.runs[0].epochs]


class Doubter(MetaLearner):
    """Adds one principle naming the objective it was told and how many episodes it saw."""

    async def learn(self, ctx: LearnContext) -> Constitution:
        seen = f"Saw {len(ctx.episodes)} episodes, {ctx.memory_mode} memory: {ctx.objective}"
        return Constitution(principles=[*ctx.constitution.principles, seen], epoch=ctx.epoch + 1,
                            source="doubter")


def test_a_learner_is_one_class_in_the_registry_and_unknown_types_are_config_errors(
        guess, monkeypatch, tmp_path):
    monkeypatch.setitem(LEARNERS, "doubter", Doubter)
    cfg = guess.model_copy(update={"epochs": 2, "learner": guess.learner.model_copy(
        update={"type": "doubter"})})
    sim = simulate(cfg, out_dir=tmp_path / "o", progress=False, backend=GuessScript([]))
    assert sim.runs[0].final.principles == [
        "Pick small numbers.", "Saw 4 episodes, full memory: Goal: hit the target more often."]
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: contract\nlearner: {type: oracle}\n")
    with pytest.raises(ConfigError, match=r"learner.type: .*unknown learner 'oracle' \(one of: "
                       r"'rewrite', 'voting', 'bayes', 'mediator', 'doubter', 'none'\)"):
        load_config(bad)
