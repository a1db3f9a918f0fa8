"""Out-of-distribution test of a learned constitution: play another task without learning.

Four variants, as in the paper's OOD test: with and without the flexible agents' prior in the
prompt, with and without asking for a reason before each decision.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

from scai.contract.config import ContractConfig
from scai.contract.constitution import learned_constitution
from scai.contract.result import Evaluation, Variant
from scai.contract.simulate import run_once
from scai.contract.tasks import task_for
from scai.llm.backend import Backend
from scai.recording import recorded_run
from scai.report.contract import evaluation_page
from scai.report.export import write_files
from scai.stats import mean_ci
from scai.store import RunStore


def evaluate_constitution(
    ref: str, config: ContractConfig, store: RunStore | None = None, *, runs: int = 1,
    out_dir: Path | str | None = None, cache: bool = True, backend: Backend | None = None,
) -> Evaluation:
    """Play `config`'s task for one epoch under the learned constitution, in each of the task's
    variants (the ultimatum game: with and without the prior, with and without a reason)."""
    variants_of = task_for(config.task).eval_variants(config.task)  # refuses a task without
    store = store or RunStore()
    found = learned_constitution(store, ref)
    learned = found.constitution.model_copy(update={"source": "given"})
    source = found.run_id
    out = Path(out_dir) if out_dir else store.root / "contract-eval" / \
        f"{config.name}-{datetime.now():%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    variants = []
    for name, task in variants_of:
        shares, accepts, failures, ids = [], [], 0, []
        for i in range(runs):
            cfg = config.model_copy(update={"task": task, "epochs": 1,
                                            "seed": config.seed + i})
            with recorded_run(store, "contract-eval", cfg, name=cfg.name) as run:
                run.log("evaluated", {"source_run": source, "constitution": learned.text()})
                outcome = asyncio.run(run_once(cfg, run, cache=cache, backend=backend,
                                               constitution=learned, learn=False))
                m = outcome.epochs[0].metrics
                run.finish("completed", summary={"source_run": source, **m})
            shares.append(m["share_flexible"])
            accepts.append(m["acceptance"])
            failures += int(m["parse_failures"] or 0)
            ids.append(run.id)
        variants.append(Variant(
            name=name, prior=task.keep_prior, reason=task.ask_reason,
            share=mean_ci([s for s in shares if s is not None]),
            acceptance=mean_ci([a for a in accepts if a is not None]),
            parse_failures=failures, run_ids=ids))
    result = Evaluation(constitution=learned.text(), source_run=source, task=config.name,
                        variants=variants, summary=str(out / "summary.md"))
    task_line = (f"Task currencies: {', '.join(config.task.currencies)}; "
                 f"prior: {config.task.prior}.")
    write_files(evaluation_page(result, task_line), out, markdown="summary.md")
    (out / "evaluation.json").write_text(json.dumps(result.model_dump(), indent=2),
                                         encoding="utf-8")
    return result
