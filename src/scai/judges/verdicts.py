"""A judge's verdict on one reply under a rubric, two ways.

`sample_verdict` asks the judge for its JSON verdict (temperature 0, schema-constrained) and
reads it strictly. `verdict_distribution` reads the verdict as the judge's own probabilities
instead: for each metric in order, P(value) of the reply continuing `{"m1": v1, ..., "m": `
with each allowed value (the earlier metrics set to their most likely values), from the
log-probability path (scai.llm.scoring). It needs a backend that can score (the embedded models,
transformers checkpoints), never samples, and gives each metric's expected value and spread
instead of one integer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from pydantic import BaseModel

from scai.errors import ParseFailure
from scai.llm import GenerationParams, Message, ModelClient
from scai.llm.scoring import integer_distribution, integer_prefixes
from scai.rubric import JudgeFailure, Metric, Rubric, Verdict
from scai.steps import KeyedLog, keyed_call, keyed_score


def rubric_messages(rubric: Rubric, values: Mapping[str, str]) -> list[Message]:
    """The judge's request: the rubric's prompt with its variables filled."""
    return [Message(role="user", content=rubric.render(values))]


async def sample_verdict(judge: ModelClient, log: KeyedLog, key: str, rubric: Rubric,
                         values: Mapping[str, str], *, seed: int, max_tokens: int = 48,
                         tags: dict | None = None) -> Verdict | JudgeFailure:
    """The judge's JSON verdict at temperature 0 under the rubric's schema, read strictly."""
    params = GenerationParams(temperature=0.0, max_tokens=max_tokens, seed=seed,
                              json_schema=rubric.schema())
    try:
        done = await keyed_call(judge, log, key, rubric_messages(rubric, values), params,
                                kind="judge", tags={"judge": rubric.name, **(tags or {})})
    except ParseFailure as exc:
        return JudgeFailure(rubric=rubric.name, reason=f"unparseable after {exc.attempts} "
                            "attempts", raw=exc.raw_text)
    # The client already checked the schema; the rubric's read adds what a schema cannot say
    # (4.0 equals 4 to JSON Schema, not to a strict integer scale).
    return rubric.read(done.parsed, done.text)


class MetricDistribution(BaseModel):
    """P(value) for one metric, its expected value, standard deviation and most likely value."""

    name: str
    probs: dict[int, float]
    expected: float
    sd: float
    mode: int

    def p(self, value: int) -> float:
        return self.probs.get(value, 0.0)


class VerdictDistribution(BaseModel):
    """A verdict read as probabilities: one distribution per metric, in the rubric's order."""

    rubric: str
    metrics: dict[str, MetricDistribution]

    def modes(self) -> dict[str, int]:
        return {name: d.mode for name, d in self.metrics.items()}

    def verdict(self, rubric: Rubric) -> Verdict:
        """The most likely verdict, as a sampled one would be read."""
        fields = self.modes()
        return Verdict(rubric=rubric.name, fields=fields, score=rubric.score(fields))


def _distribution(metric: Metric, logprobs: dict[str, float]) -> MetricDistribution:
    lo, hi = metric.min, metric.max
    if lo >= 0:
        probs = integer_distribution(logprobs, lo, hi)
    else:  # negative values are whole strings here ("-1"); normalise their masses directly
        mass = {v: math.exp(logprobs[str(v)]) for v in metric.values}
        total = sum(mass.values()) or 1.0
        probs = {v: m / total for v, m in mass.items()}
    expected = sum(v * p for v, p in probs.items())
    sd = math.sqrt(max(sum((v - expected) ** 2 * p for v, p in probs.items()), 0.0))
    mode = max(probs, key=lambda v: (probs[v], -v))
    return MetricDistribution(name=metric.name, probs=probs, expected=expected, sd=sd, mode=mode)


def _strings(metric: Metric) -> list[str]:
    if metric.min >= 0:
        return integer_prefixes(metric.min, metric.max)
    return [str(v) for v in metric.values]


async def verdict_distribution(judge: ModelClient, log: KeyedLog, key: str, rubric: Rubric,
                               values: Mapping[str, str], *, upto: str | None = None
                               ) -> VerdictDistribution:
    """The judge's probabilities over each metric's values (one scoring call per metric; with
    `upto`, only the metrics up to that one, which is all a refusal label needs from `harm`).
    Raises ModelError where the judge's backend cannot score (a server)."""
    messages = rubric_messages(rubric, values)
    chosen: dict[str, int] = {}
    out: dict[str, MetricDistribution] = {}
    names = [m.name for m in rubric.metrics]
    last = names.index(upto) if upto in names else len(names) - 1
    for metric in rubric.metrics[:last + 1]:
        # The lead is the verdict so far, written as json.dumps writes it (as the prompt's
        # example does): '{"refused": 0, "convincing": '.
        lead = json.dumps(chosen)[:-1] + (", " if chosen else "") + f'"{metric.name}": '
        strings = _strings(metric)
        logprobs = await keyed_score(judge, log, f"{key}|{metric.name}", messages,
                                     [lead + s for s in strings], kind="judge-distribution")
        dist = _distribution(metric, dict(zip(strings, logprobs, strict=True)))
        out[metric.name] = dist
        chosen[metric.name] = dist.mode
    return VerdictDistribution(rubric=rubric.name, metrics=out)
