"""Batch: many prompts x samples through one model, recorded in the store, resumable.

The smallest complete experiment: `scai batch CONFIG`. Each (prompt, sample) has a key, so an
interrupted run resumed with `--resume RUN` makes only the calls it had not finished.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from scai.config import ConfigModel, resolve_path
from scai.datafiles import jsonl_rows, read_text
from scai.errors import ConfigError
from scai.llm import ChatRequest, GenerationParams, Message, ModelClient, ModelSettings
from scai.llm.cache import ResponseCache
from scai.recording import call_logger, recorded_run
from scai.store import RunStore


class BatchConfig(ConfigModel):
    """Run a list of prompts through a model, several samples each."""

    kind: Literal["batch"] = "batch"
    name: str | None = Field(None, description="A label for the run in `scai runs list`.")
    model: ModelSettings = Field(default_factory=ModelSettings)
    params: GenerationParams = Field(default_factory=lambda: GenerationParams(seed=0))
    system: str | None = Field(None, description="System prompt sent before every prompt.")
    prompts: list[str] = Field(default_factory=list, description="Prompts given inline.")
    prompts_file: Path | None = Field(
        None, description="Prompts from a .txt (one per line), .jsonl ({prompt: ...}) or .csv file."
    )
    samples: int = Field(1, ge=1, le=1000, description="Samples per prompt (distinct, cached).")

    _prompts_path = field_validator("prompts_file")(resolve_path)

    @model_validator(mode="after")
    def _has_prompts(self) -> BatchConfig:
        if not self.prompts and self.prompts_file is None:
            raise ValueError("give `prompts` or `prompts_file`")
        return self


def read_prompts(path: Path) -> list[str]:
    """Prompts from a text, JSONL or CSV file; ConfigError naming the file and line if malformed."""
    text = read_text(path)
    prompts: list[str] = []
    if path.suffix == ".jsonl":
        for n, row in jsonl_rows(path, text):
            if not isinstance(row.get("prompt"), str):
                raise ConfigError(f"{path}:{n}: expected a string or an object with a 'prompt' field")
            prompts.append(row["prompt"])
    elif path.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or "prompt" not in reader.fieldnames:
            raise ConfigError(f"{path}: a CSV of prompts needs a 'prompt' column")
        prompts = [row["prompt"] for row in reader if row.get("prompt")]
    else:
        prompts = [line.strip() for line in text.splitlines() if line.strip()]
    if not prompts:
        raise ConfigError(f"{path}: no prompts in the file")
    return prompts


class BatchSummary(BaseModel):
    """What a finished batch reports."""

    run_id: str
    calls_made: int
    calls_skipped: int
    cache_hits: int
    failures: int
    completion_tokens: int
    wall_s: float
    tokens_per_s: float


def run_batch(
    config: BatchConfig, store: RunStore, *, resume: str | None = None,
    cache: ResponseCache | bool | None = True, progress: bool = True,
) -> BatchSummary:
    """Run (or resume) a batch; every finished call is in the store the moment it finishes."""
    prompts = list(config.prompts)
    if config.prompts_file is not None:
        prompts += read_prompts(config.prompts_file)
    with recorded_run(store, "batch", config, name=config.name, resume=resume) as run:
        done = run.done_keys("model_call")
        client = ModelClient(config.model, cache=cache, on_call=call_logger(run))
        requests: list[ChatRequest] = []
        for i, prompt in enumerate(prompts):
            messages = [Message(role="system", content=config.system)] if config.system else []
            messages.append(Message(role="user", content=prompt))
            for k in range(config.samples):
                key = f"prompt={i}/sample={k}"
                if key not in done:
                    requests.append(ChatRequest(
                        messages=messages, params=config.params, sample_index=k,
                        tags={"key": key, "prompt_index": i},
                    ))
        start = time.perf_counter()
        results = client.complete_many_sync(
            requests, progress="batch" if progress else None, return_exceptions=True,
        )
        wall = time.perf_counter() - start
        stats = client.stats
        summary = BatchSummary(
            run_id=run.id, calls_made=len(requests), calls_skipped=len(done),
            cache_hits=stats.cache_hits, failures=sum(1 for r in results if isinstance(r, Exception)),
            completion_tokens=stats.completion_tokens, wall_s=round(wall, 3),
            tokens_per_s=round(stats.completion_tokens / wall, 2) if wall > 0 else 0.0,
        )
        run.finish(
            "completed" if summary.failures == 0 else "failed",
            error=f"{summary.failures} calls failed" if summary.failures else None,
            summary=summary.model_dump(),
        )
    return summary


def batch_outputs(store: RunStore, run_id: str) -> list[dict[str, Any]]:
    """The finished calls of a batch run, in prompt/sample order."""
    rows = []
    for e in store.events(run_id, "model_call"):
        rows.append({
            "key": e.key, "prompt_index": e.payload["tags"].get("prompt_index"),
            "sample_index": e.payload.get("sample_index"),
            "text": (e.payload.get("completion") or {}).get("text"),
        })
    return sorted(rows, key=lambda r: (r["prompt_index"] or 0, r["sample_index"] or 0))
