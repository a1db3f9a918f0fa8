"""`scai bench validate`: four filters between a generated dataset and a trusted one.

1. schema: every line must be a valid item (bad lines are reported with their line numbers);
2. structure: no over-long text, near-empty option or positional option ('all of the above');
3. near-duplicates: an item whose embedding has cosine similarity >= threshold with an earlier
   kept item (or a reference item) is removed;
4. judges: each judge model answers the item like a model under test; the item is kept only
   when every judge's majority answer equals the label (configurable with `min_agreement`).
   With no judges (`judges=[]`, `--no-judges`) the first three filters are the whole check.

Recorded on each item: every judge's answers, `agreement` (share of judges whose majority answer
is the label) and `label_confidence` (share of all parsed judge answers, judges x samples, that
equal the label). Unparseable judge answers are kept as None and never count as agreement.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field

from scai.datafiles import read_text
from scai.errors import ConfigError
from scai.llm import ModelClient, ModelSettings, run_sync
from scai.llm.client import OnCall
from scai.progress import progress_bar
from scai.recording import call_logger, recorded_run
from scai.store import RunStore
from scai.supervise.bench.answer import answer_item
from scai.supervise.bench.items import (
    SUBTASKS,
    BenchItem,
    LineProblem,
    Validation,
    check_lines,
    structural_problems,
    write_items,
)


class SubtaskCounts(BaseModel):
    """How many items of one subtask entered and left each filter."""

    input: int = 0
    structural: int = 0
    near_duplicates: int = 0
    judge_rejected: int = 0
    kept: int = 0


class ValidationSummary(BaseModel):
    """What `validate_items` did: counts per subtask per filter, and where the files are."""

    source: str
    lines: int
    schema_errors: list[LineProblem]
    per_subtask: dict[str, SubtaskCounts]
    judges: list[str]
    judge_samples: int
    dedup_threshold: float
    min_agreement: float
    judge_parse_failures: dict[str, int] = Field(default_factory=dict)
    kept_path: str | None = None
    rejected_path: str | None = None
    summary_path: str | None = None

    @property
    def kept(self) -> int:
        """Items kept, over all subtasks."""
        return sum(c.kept for c in self.per_subtask.values())

    @property
    def rejected(self) -> int:
        """Items rejected (structure, near-duplicates, judges), over all subtasks."""
        return sum(c.input - c.kept for c in self.per_subtask.values())


def near_duplicates(items: list[BenchItem], threshold: float,
                    reference: list[BenchItem] | None = None) -> dict[str, tuple[str, float]]:
    """{item id: (id of the earlier kept or reference item it resembles, cosine)} for every item
    whose embedding is at least `threshold` similar to one kept before it (greedy, in order)."""
    import numpy as np

    from scai.embed import embed

    own = {it.id for it in items}
    reference = [r for r in reference or [] if r.id not in own]
    if not items:
        return {}
    vectors = embed([it.text_for_dedup() for it in [*reference, *items]])
    kept_rows = list(range(len(reference)))
    ids = [it.id for it in [*reference, *items]]
    found: dict[str, tuple[str, float]] = {}
    for i in range(len(reference), len(ids)):
        if kept_rows:
            sims = vectors[kept_rows] @ vectors[i]
            j = int(np.argmax(sims))
            if sims[j] >= threshold:
                found[ids[i]] = (ids[kept_rows[j]], float(sims[j]))
                continue
        kept_rows.append(i)
    return found


def _majority_agrees(answers: list[str | None], label: str) -> bool:
    parsed = [a for a in answers if a is not None]
    return bool(parsed) and Counter(parsed)[label] * 2 > len(parsed)


async def _judge_all(clients: dict[str, ModelClient], items: list[BenchItem], samples: int,
                     seed: int, progress: bool) -> dict[str, dict[str, list[str | None]]]:
    temperature = 0.0 if samples == 1 else 0.7
    votes: dict[str, dict[str, list[str | None]]] = {
        it.id: {name: [None] * samples for name in clients} for it in items}
    jobs = [(name, it, k) for it in items for name in clients for k in range(samples)]
    with progress_bar("judge" if progress else None, len(jobs)) as advance:
        async def one(name: str, item: BenchItem, k: int) -> None:
            a = await answer_item(clients[name], item, sample=k, seed=seed,
                                  temperature=temperature, tags={"judge": name, "item": item.id})
            votes[item.id][name][k] = a.answer
            advance(1)

        await asyncio.gather(*(one(*job) for job in jobs))
    return votes


def validate_items(
    source: Path, *, out: Path | None = None, judges: list[str] | None = None,
    dedup_threshold: float = 0.9, min_agreement: float = 1.0, judge_samples: int = 1,
    reference: list[BenchItem] | None = None, seed: int = 0, cache: bool = True,
    clients: dict[str, ModelClient] | None = None, progress: bool = True,
    store: RunStore | None = None,
) -> ValidationSummary:
    """Filter the items of the JSONL file `source`; write kept items to `out` (default
    SOURCE.kept.jsonl), rejected ones with reasons beside it, and a summary JSON.
    `clients` (name -> ModelClient) replaces `judges` when given, e.g. scripted judges in tests.
    With a `store`, the validation is a run there (kind `bench-validate`): its options, every
    judge call, and the summary as its `result`."""
    if not 0 < dedup_threshold <= 1:
        raise ConfigError(f"--dedup-threshold must be in (0, 1], got {dedup_threshold}")
    if not 0 <= min_agreement <= 1:
        raise ConfigError(f"--min-agreement must be in [0, 1], got {min_agreement}")
    if judge_samples < 1:
        raise ConfigError(f"--judge-samples must be at least 1, got {judge_samples}")
    if not source.is_file():
        read_text(source)  # its one-line error: missing, a directory, ...
    if store is None:
        return _validate(source, out, judges, dedup_threshold, min_agreement, judge_samples,
                         reference, seed, cache, clients, progress, None)
    options = dict(source=str(source), out=str(out) if out else None, judges=judges,
                   dedup_threshold=dedup_threshold, min_agreement=min_agreement,
                   judge_samples=judge_samples, reference=len(reference or []), seed=seed)
    with recorded_run(store, "bench-validate", options, name=source.stem) as run:
        summary = _validate(source, out, judges, dedup_threshold, min_agreement, judge_samples,
                            reference, seed, cache, clients, progress, call_logger(run))
        run.log("result", summary.model_dump(mode="json"))
        run.finish("completed", summary={"kept": summary.kept, "rejected": summary.rejected,
                                         "schema_errors": len(summary.schema_errors)})
    return summary


def _judge_clients(judges: list[str] | None, cache: bool, on_call: OnCall | None
                   ) -> dict[str, ModelClient]:
    names = [j.strip() for j in (judges if judges is not None else ["local"]) if j.strip()]
    return {n: ModelClient(ModelSettings(model=n, concurrency=8), cache=True if cache else None,
                           on_call=on_call) for n in names}


def _drop_structural(items: list[BenchItem], counts: dict[str, SubtaskCounts],
                     rejected: list[BenchItem]) -> list[BenchItem]:
    """The items with no structural problem; the others go to `rejected`, with the reasons."""
    survivors: list[BenchItem] = []
    for it in items:
        problems = structural_problems(it)
        if problems:
            counts[it.subtask].structural += 1
            rejected.append(it.model_copy(update={"validation": Validation(
                status="rejected", reasons=problems)}))
        else:
            survivors.append(it)
    return survivors


def _drop_near_duplicates(items: list[BenchItem], threshold: float,
                          reference: list[BenchItem] | None, counts: dict[str, SubtaskCounts],
                          rejected: list[BenchItem]) -> list[BenchItem]:
    """The items that are no near-duplicate; the others go to `rejected`, with the reason."""
    dups = near_duplicates(items, threshold, reference)
    survivors: list[BenchItem] = []
    for it in items:
        if it.id in dups:
            other, sim = dups[it.id]
            counts[it.subtask].near_duplicates += 1
            rejected.append(it.model_copy(update={"validation": Validation(
                status="rejected", near_duplicate_of=other, similarity=round(sim, 4),
                reasons=[f"near-duplicate of {other} (cosine {sim:.3f} >= {threshold})"])}))
        else:
            survivors.append(it)
    return survivors


def judge_verdict(item: BenchItem, answers: dict[str, list[str | None]],
                  min_agreement: float) -> Validation:
    """Keep or reject one item by its judges' answers: agreement (share of judges whose majority
    is the label), label confidence (share of parsed answers equal to it), and the reasons."""
    agree = [name for name in answers if _majority_agrees(answers[name], item.answer)]
    parsed = [a for row in answers.values() for a in row if a is not None]
    agreement = len(agree) / len(answers) if answers else None
    confidence = sum(a == item.answer for a in parsed) / len(parsed) if parsed else None
    reasons = []
    for name, row in answers.items():
        if name in agree:
            continue
        if all(a is None for a in row):
            reasons.append(f"judge {name}: unparseable answer")
        else:
            reasons.append(f"judge {name} answered {'/'.join(str(a) for a in row)}, "
                           f"label is {item.answer}")
    ok = agreement is None or agreement >= min_agreement
    return Validation(status="kept" if ok else "rejected", judge_answers=answers,
                      agreement=agreement, label_confidence=confidence,
                      reasons=[] if ok else reasons)


def _output_paths(source: Path, out: Path | None) -> tuple[Path, Path, Path]:
    """Kept items (default SOURCE.kept.jsonl), rejected ones and the summary beside them."""
    out = out or source.with_name(source.name.removesuffix(".jsonl") + ".kept.jsonl")
    base = out.with_name(out.name.removesuffix(".jsonl").removesuffix(".kept"))
    return out, base.with_name(base.name + ".rejected.jsonl"), base.with_name(
        base.name + ".summary.json")


def _validate(
    source: Path, out: Path | None, judges: list[str] | None, dedup_threshold: float,
    min_agreement: float, judge_samples: int, reference: list[BenchItem] | None, seed: int,
    cache: bool, clients: dict[str, ModelClient] | None, progress: bool,
    on_call: OnCall | None,
) -> ValidationSummary:
    if clients is None:
        clients = _judge_clients(judges, cache, on_call)
    good, bad = check_lines(source)
    items = [it for _, it in good]
    counts = {s: SubtaskCounts() for s in SUBTASKS}
    for it in items:
        counts[it.subtask].input += 1
    rejected: list[BenchItem] = []
    survivors = _drop_structural(items, counts, rejected)
    survivors = _drop_near_duplicates(survivors, dedup_threshold, reference, counts, rejected)
    votes = run_sync(_judge_all(clients, survivors, judge_samples, seed, progress)) \
        if clients and survivors else {}
    failures = {name: sum(v is None for it in survivors for v in votes[it.id][name])
                for name in clients}
    kept: list[BenchItem] = []
    for it in survivors:
        v = judge_verdict(it, votes.get(it.id, {}), min_agreement)
        item = it.model_copy(update={"validation": v})
        if v.status == "kept":
            counts[it.subtask].kept += 1
            kept.append(item)
        else:
            counts[it.subtask].judge_rejected += 1
            rejected.append(item)
    out, rejected_path, summary_path = _output_paths(source, out)
    write_items(out, kept)
    write_items(rejected_path, rejected)
    summary = ValidationSummary(
        source=str(source), lines=len(good) + len(bad), schema_errors=bad,
        per_subtask={s: c for s, c in counts.items() if c.input}, judges=list(clients),
        judge_samples=judge_samples, dedup_threshold=dedup_threshold,
        min_agreement=min_agreement, judge_parse_failures=failures, kept_path=str(out),
        rejected_path=str(rejected_path), summary_path=str(summary_path))
    summary_path.write_text(json.dumps(summary.model_dump(mode="json"), indent=2) + "\n",
                            encoding="utf-8")
    return summary
