"""What evaluating a model cost: the tokens and seconds of its answers and, separately, of the
judge's verdicts on them, summed from each call's usage.

A reply served from the response cache counts the usage recorded when it was first produced (and
is counted as cached), so the cost of an evaluation is the same whether or not it was replayed.
Seconds are summed over calls; calls that run concurrently overlap, so the sum can exceed the
wall time (`wall_seconds`).
"""

from __future__ import annotations

from pydantic import BaseModel

from scai.llm.client import CallRecord, OnCall

# The cost columns every CAI table shows beside the rubric metrics, in order.
COST_METRICS = ("answer_tokens", "prompt_tokens", "answer_seconds", "judge_tokens",
                "judge_seconds", "wall_seconds")


class CallCost(BaseModel):
    """Totals over a set of calls: how many (cached, failed), tokens in and out, seconds, money
    (None unless the model has a price)."""

    calls: int = 0
    cached: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost_usd: float | None = None

    def add(self, record: CallRecord) -> None:
        """Count one finished (or failed) call."""
        self.calls += 1
        done = record.completion
        if done is None:
            self.failed += 1  # a call that failed reports no usage
            return
        self.cached += done.cached
        self.prompt_tokens += done.usage.prompt_tokens
        self.completion_tokens += done.usage.completion_tokens
        self.seconds += done.usage.latency_s
        if done.usage.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + done.usage.cost_usd


class CostMeter:
    """An `OnCall` observer that sums every call into `cost`, then passes it on to `then`."""

    def __init__(self, then: OnCall | None = None):
        self.cost = CallCost()
        self.then = then

    def __call__(self, record: CallRecord) -> None:
        self.cost.add(record)
        if self.then is not None:
            self.then(record)


class ModelCost(BaseModel):
    """One model's evaluation: its answers, the judge's verdicts on them, and the wall time of
    both together."""

    answer: CallCost
    judge: CallCost
    wall_seconds: float = 0.0

    def metrics(self) -> dict[str, float]:
        """The flat cost columns (`COST_METRICS`): answer tokens generated, their prompt tokens
        and seconds; the judge's tokens (prompt + completion) and seconds; the wall time."""
        return {"answer_tokens": float(self.answer.completion_tokens),
                "prompt_tokens": float(self.answer.prompt_tokens),
                "answer_seconds": round(self.answer.seconds, 3),
                "judge_tokens": float(self.judge.prompt_tokens + self.judge.completion_tokens),
                "judge_seconds": round(self.judge.seconds, 3),
                "wall_seconds": round(self.wall_seconds, 3)}
