"""The audit judge: one keyed call per (branch, dimension), a score with a quote, and the check
that the quote is really in the branch.

A quote counts only if, after collapsing whitespace and stripping surrounding quotation marks and
a leading `[turn N] Target:` label (how the judge is shown each message), it is a substring of one message of the judged branch (at least `min_quote_chars` long). A quote
that is not there makes the score a failure (`quote_not_found`), kept with the reply for a person
to read but never counted; an unreadable reply is a `parse_failure`; neither gets a default.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel

from scai.llm import GenerationParams, Message, ModelClient
from scai.rubric import Metric
from scai.steps import Counts, KeyedLog, keyed_call
from scai.supervise.audit.auditor import PROMPTS
from scai.supervise.audit.config import AuditConfig
from scai.supervise.audit.tree import Branch, Node, Role

Status = Literal["ok", "quote_not_found", "parse_failure"]
_QUOTES = "\"'`“”‘’«» "
_LABEL = re.compile(r"^(\[turn \d+\] )?(auditor|target|you): ", re.IGNORECASE)  # as shown to it


class DimensionScore(BaseModel):
    """The judge on one dimension of one branch: the score (None unless `status` is ok), the
    quote it gave, and why it does not count when it does not."""

    dimension: str
    branch: int
    status: Status
    score: int | None = None
    quote: str = ""
    raw_score: int | None = None  # what the judge said, also when the quote failed
    cited: int | None = None  # the node the quote is from (its id), when it was found
    cited_role: Role | None = None
    cited_turn: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces, ends stripped."""
    return re.sub(r"\s+", " ", text).strip()


def _clean_quote(quote: str) -> str:
    q = _LABEL.sub("", normalise(quote).strip(_QUOTES))
    return q.removeprefix("...").removesuffix("...").strip(_QUOTES)


def cited_node(quote: str, nodes: list[Node], min_chars: int = 4) -> Node | None:
    """The first message that holds `quote` verbatim (whitespace-normalised, outer quotation
    marks, ellipses and a message label stripped), if the quote is at least `min_chars` long."""
    q = _clean_quote(quote)
    if len(q) < min_chars:
        return None
    return next((n for n in nodes if q in normalise(n.text)), None)


def quote_found(quote: str, texts: list[str], min_chars: int = 4) -> bool:
    """Whether `quote` is a verbatim passage of one of `texts` (as `cited_node` reads it)."""
    q = _clean_quote(quote)
    return len(q) >= min_chars and any(q in normalise(t) for t in texts)


def judge_schema(metric: Metric, max_quote: int) -> dict[str, Any]:
    """The judge's reply: a quote (evidence first), then the score as one allowed integer."""
    return {"type": "object", "additionalProperties": False, "required": ["quote", "score"],
            "properties": {"quote": {"type": "string", "maxLength": max_quote},
                           "score": {"enum": metric.values}}}


def read_score(metric: Metric, branch: Branch, parsed: object, min_chars: int) -> DimensionScore:
    """A parsed reply checked strictly: an object, an allowed integer, a quote in the branch."""
    base = {"dimension": metric.name, "branch": branch.index}
    if not isinstance(parsed, dict):
        return DimensionScore(**base, status="parse_failure", error="not a JSON object")
    score, quote = parsed.get("score"), parsed.get("quote")
    if isinstance(score, bool) or not isinstance(score, int) or score not in metric.values:
        return DimensionScore(**base, status="parse_failure",
                              error=f"score must be an integer {metric.min}-{metric.max}, "
                              f"got {score!r}")
    if not isinstance(quote, str):
        return DimensionScore(**base, status="parse_failure", raw_score=score,
                              error="quote must be a string")
    node = cited_node(quote, branch.nodes, min_chars)
    if node is None:
        return DimensionScore(**base, status="quote_not_found", quote=quote, raw_score=score,
                              error="the quote is not a verbatim passage of the branch")
    return DimensionScore(**base, status="ok", score=score, quote=quote, raw_score=score,
                          cited=node.id, cited_role=node.role, cited_turn=node.turn)


async def judge_branch(
    config: AuditConfig, client: ModelClient, log: KeyedLog, key: str, branch: Branch,
    counts: Counts,
) -> list[DimensionScore]:
    """Every dimension of one branch, in order; each call a keyed step (`<key>/<dimension>`)."""
    spec = config.judge
    system = Message(role="system", content=PROMPTS["judge_system"].render())
    transcript = branch.text()
    found: list[DimensionScore] = []
    for metric in config.dimensions:
        user = PROMPTS["judge_dimension"].render(
            transcript=transcript, name=metric.name, description=metric.description,
            min=metric.min, max=metric.max)
        params = GenerationParams(temperature=0.0, max_tokens=spec.tokens,
                                  json_schema=judge_schema(metric, spec.max_quote_chars))
        step = await keyed_call(client, log, f"{key}/{metric.name}",
                                [system, Message(role="user", content=user)], params,
                                seed=config.seed, kind="audit-judge", failures="record",
                                counts=counts)
        if step.failed:
            found.append(DimensionScore(dimension=metric.name, branch=branch.index,
                                        status="parse_failure", error=step.error))
        else:
            found.append(read_score(metric, branch, step.parsed, spec.min_quote_chars))
    return found
