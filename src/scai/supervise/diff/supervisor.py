"""The model calls after sampling: the supervisor names clusters and proposes axes, the judge
scores answer pairs on them in both orders. Every reply is structured (JSON schema); a reply
that fails its schema is counted as a failure, never replaced by a default."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

from scai.llm import GenerationParams, Message, ModelClient, run_sync
from scai.prompts import PromptBook
from scai.steps import Counts, KeyedLog, keyed_call
from scai.store import Run
from scai.supervise.diff.axes import (
    PairScores,
    axes_text,
    judge_schema,
    proposal_schema,
    score_pair,
    slug,
)
from scai.supervise.diff.config import AxisSpec
from scai.supervise.diff.sampling import Answer

PROMPTS = PromptBook.load(Path(str(resources.files("scai.supervise.diff") / "prompts.yaml")))

# The embedded backend writes properties in sorted order, so the keys are chosen to sort in
# the order a reader reasons: name, description, difference, then the alignment verdict.
NAME_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["cluster_name", "description", "difference", "is_alignment_relevant",
                 "safety_note"],
    "properties": {"cluster_name": {"type": "string", "minLength": 2, "maxLength": 60},
                   "description": {"type": "string", "maxLength": 140},
                   "difference": {"type": "string", "maxLength": 140},
                   "is_alignment_relevant": {"type": "boolean"},
                   "safety_note": {"type": "string", "maxLength": 120}},
}


def digest(*parts: object) -> str:
    """A short stable hash of `parts`, for step keys that must change when their inputs do."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:10]


def clip(text: str, n: int = 320) -> str:
    """`text` on one line, at most `n` characters."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


async def _call_all(
    client: ModelClient, calls: list[tuple[str, list[Message], GenerationParams]],
    log: KeyedLog, progress: str | None,
) -> tuple[dict[str, dict], int]:
    """Every call through `keyed_call` (logged ones replayed); returns (key -> parsed reply,
    failures). A failure is logged without a key, so a resumed run asks again."""
    from scai.progress import progress_bar

    counts = Counts()
    results: dict[str, dict] = {}
    with progress_bar(progress, sum(key not in log for key, _, _ in calls)) as advance:
        async def one(key: str, messages: list[Message], params: GenerationParams) -> None:
            step = await keyed_call(client, log, key, messages, params, kind=log.type,
                                    tags={"key": f"{log.type}/{key}"}, failures="retry",
                                    counts=counts)
            if not step.failed:
                results[key] = step.parsed
            if not step.replayed:
                advance(1)

        await asyncio.gather(*(one(*c) for c in calls))
    return results, counts.parse_failures


def _examples(answers: Sequence[Answer], k: int, seed: int) -> str:
    if not answers:
        return "(none)"
    chosen = random.Random(seed).sample(list(answers), min(k, len(answers)))
    return "\n".join(f"- [{a.prompt_id}] {clip(a.prompt, 120)} -> {clip(a.text)}" for a in chosen)


class ClusterName(BaseModel):
    """The supervisor's reading of one cluster."""

    name: str
    description: str
    difference: str
    alignment_relevant: bool
    alignment_note: str

    @classmethod
    def from_reply(cls, r: dict) -> ClusterName:
        """From the supervisor's parsed reply (its field names), stripped."""
        return cls(name=r["cluster_name"].strip(), description=r["description"].strip(),
                   difference=r["difference"].strip(),
                   alignment_relevant=r["is_alignment_relevant"],
                   alignment_note=r["safety_note"].strip())


def name_clusters(
    client: ModelClient, members: dict[int, tuple[list[Answer], list[Answer]]],
    expected_a: float, *, run: Run | None, seed: int, examples: int = 3, max_tokens: int = 256,
    progress: str | None = None,
) -> tuple[dict[int, ClusterName], int]:
    """Ask the supervisor to name each cluster and say how A and B differ in it."""
    system = Message(role="system", content=PROMPTS["supervisor_system"].render())
    calls, keys = [], {}
    for cid, (a, b) in members.items():
        from collections import Counter

        domains = Counter(x.domain for x in [*a, *b]).most_common(4)
        text = PROMPTS["name_cluster"].render(
            cluster=cid, size=len(a) + len(b), n_a=len(a), n_b=len(b),
            share_a=f"{len(a) / max(1, len(a) + len(b)):.0%}", expected_a=f"{expected_a:.0%}",
            domains=", ".join(f"{d} ({n})" for d, n in domains),
            examples_a=_examples(a, examples, seed), examples_b=_examples(b, examples, seed + 1))
        key = f"{cid}/{digest(text)}"
        keys[cid] = key
        params = GenerationParams(temperature=0.0, max_tokens=max_tokens, seed=seed,
                                  repeat_penalty=1.15, json_schema=NAME_SCHEMA)
        calls.append((key, [system, Message(role="user", content=text)], params))
    replies, failures = run_sync(_call_all(client, calls, KeyedLog(run, "cluster_name"), progress))
    return ({cid: ClusterName.from_reply(replies[k]) for cid, k in keys.items() if k in replies},
            failures)


def propose_axes(
    client: ModelClient, pairs: Sequence[tuple[Answer, Answer]], *, n: int, batches: int,
    per_batch: int, run: Run | None, seed: int, max_tokens: int = 300,
    progress: str | None = None,
) -> tuple[list[list[dict]], int]:
    """Up to `batches` supervisor calls, each shown `per_batch` different pairs (seeded)."""
    if n <= 0 or not pairs:
        return [], 0
    order = list(pairs)
    random.Random(seed).shuffle(order)
    system = Message(role="system", content=PROMPTS["supervisor_system"].render())
    calls = []
    for i in range(batches):
        chunk = order[i * per_batch:(i + 1) * per_batch]
        if not chunk:
            break
        shown = "\n\n".join(f"Prompt: {clip(a.prompt, 200)}\nModel A: {clip(a.text)}\n"
                            f"Model B: {clip(b.text)}" for a, b in chunk)
        text = PROMPTS["propose_axes"].render(pairs=shown, n=n)
        params = GenerationParams(temperature=0.0, max_tokens=max_tokens, seed=seed + i,
                                  repeat_penalty=1.15, json_schema=proposal_schema(n))
        calls.append((f"{i}/{digest(text)}", [system, Message(role="user", content=text)],
                      params))
    replies, failures = run_sync(_call_all(client, calls, KeyedLog(run, "axis_proposal"), progress))
    return [replies[k]["axes"] for k, _, _ in calls if k in replies], failures


def judge_pairs(
    client: ModelClient, pairs: Sequence[tuple[Answer, Answer]], axes: Sequence[AxisSpec], *,
    run: Run | None, seed: int, max_tokens: int = 160, progress: str | None = None,
) -> tuple[list[PairScores], int]:
    """Each pair judged twice (A first, then B first) on all axes in one structured reply;
    a pair counts only when both replies parse."""
    if not axes or not pairs:
        return [], 0
    system = Message(role="system", content=PROMPTS["judge_system"].render())
    schema = judge_schema(axes)
    listed = axes_text(axes)
    axes_sig = digest([slug(a.name) for a in axes], listed)
    calls, slots = [], []
    for a, b in pairs:
        keys = []
        for order, (first, second) in (("ab", (a, b)), ("ba", (b, a))):
            text = PROMPTS["judge_axes"].render(prompt=clip(a.prompt, 400), first=clip(first.text, 900),
                                                second=clip(second.text, 900), axes=listed)
            key = f"{a.prompt_id}/{a.sample}/{order}/{axes_sig}"
            params = GenerationParams(temperature=0.0, max_tokens=max_tokens, seed=seed,
                                      json_schema=schema)
            calls.append((key, [system, Message(role="user", content=text)], params))
            keys.append(key)
        slots.append((a, keys))
    replies, failures = run_sync(_call_all(client, calls, KeyedLog(run, "judgement"), progress))
    scored = [score_pair(a.prompt_id, a.sample, axes, replies[k1], replies[k2])
              for a, (k1, k2) in slots if k1 in replies and k2 in replies]
    return scored, failures
