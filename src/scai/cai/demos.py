"""Demonstrations for stage 0: a base model is first taught what an answered request looks like.

`scai/data/cai/demonstrations.jsonl` (or `stage0.demonstrations: FILE`) holds one
`{"id": "demo-001", "prompt": "...", "reply": "..."}` a line: helpful answers, a few polite
refusals and a few answers in a requested style. Stage 0 fine-tunes the base model on them in the
completion transcript format, so it can then answer, critique and revise under the constitution.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, field_validator

from scai.cai.data import DATA_DIR, PromptItem
from scai.cai.generate import SFTExample
from scai.datafiles import jsonl_rows, read_text
from scai.errors import ConfigError
from scai.llm import Message

DEMONSTRATIONS = DATA_DIR / "demonstrations.jsonl"


class Demonstration(BaseModel):
    """One demonstrated exchange: a request and the reply a helpful, harmless assistant gives."""

    id: str
    prompt: str
    reply: str

    @field_validator("id", "prompt", "reply")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v


def load_demonstrations(path: Path | None = None) -> list[Demonstration]:
    """The demonstrations at `path` (default: the shipped set); one-line ConfigError naming the
    file and line when one is missing a field, blank, or an id repeats."""
    path = path or DEMONSTRATIONS
    demos: list[Demonstration] = []
    seen: set[str] = set()
    for n, row in jsonl_rows(path, read_text(path)):
        try:
            demo = Demonstration.model_validate(row)
        except ValueError as exc:
            detail = " ".join(str(exc).splitlines()[1:3]) or str(exc)
            raise ConfigError(f"{path}:{n}: not a demonstration {{id, prompt, reply}} "
                              f"({' '.join(detail.split())})") from None
        if demo.id in seen:
            raise ConfigError(f"{path}:{n}: duplicate id {demo.id!r}")
        seen.add(demo.id)
        demos.append(demo)
    return demos


def as_sft(demos: list[Demonstration]) -> list[SFTExample]:
    """The demonstrations as SFT examples (one user turn, one assistant reply)."""
    return [SFTExample(prompt_id=d.id, messages=[Message(role="user", content=d.prompt),
                                                 Message(role="assistant", content=d.reply)])
            for d in demos]


def as_prompts(demos: list[Demonstration]) -> list[PromptItem]:
    """The demonstrations' requests, so evaluation can refuse a prompt stage 0 trained on."""
    return [PromptItem(id=d.id, prompt=d.prompt, source="demonstrations") for d in demos]
