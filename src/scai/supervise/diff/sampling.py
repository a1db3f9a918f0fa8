"""Sampling: K answers per probe from one side, each call keyed so a resumed run skips it."""

from __future__ import annotations

from pydantic import BaseModel

from scai.config import parse_yaml
from scai.datafiles import read_text
from scai.errors import ConfigError, ModelError
from scai.llm import GenerationParams, Message, ModelClient
from scai.steps import KeyedLog, keyed_call
from scai.supervise.diff.config import DiffSide
from scai.supervise.diff.probes import Probe


class Answer(BaseModel):
    """One sampled answer of one side to one probe."""

    side: str
    prompt_id: str
    prompt: str
    domain: str = "general"
    sample: int
    text: str

    @property
    def key(self) -> str:
        """This answer's step key (side/probe/sample)."""
        return answer_key(self.side, self.prompt_id, self.sample)


def answer_key(side: str, prompt_id: str, sample: int) -> str:
    """The step key of one sampled answer: `side/prompt_id/sample` (stable: runs resume by it)."""
    return f"{side}/{prompt_id}/{sample}"


def constitution_text(path) -> str:
    """A constitution file as system-prompt text: plain text, or YAML principles numbered."""
    text = read_text(path)
    if path.suffix not in (".yaml", ".yml"):
        return text.strip()
    data = parse_yaml(text, str(path))
    rows = data.get("principles") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{path}: expected a list of principles (or a mapping with 'principles:')")
    lines = []
    for n, row in enumerate(rows, 1):
        if isinstance(row, dict):
            row = row.get("text") or row.get("principle") or row.get("critique")
        if not isinstance(row, str) or not row.strip():
            raise ConfigError(f"{path}: principle {n} has no text")
        lines.append(f"{n}. {' '.join(row.split())}")
    return "Follow these principles in every answer:\n" + "\n".join(lines)


def system_prompt(side: DiffSide) -> str | None:
    """The system prompt a side answers under: `system`, then its constitution, or None."""
    parts = [side.system.strip()] if side.system and side.system.strip() else []
    if side.constitution is not None:
        parts.append(constitution_text(side.constitution))
    return "\n\n".join(parts) or None


def sample_answers(
    side: DiffSide, probes: list[Probe], samples: int, seed: int, *,
    client: ModelClient | None = None, temperature: float = 0.8, max_tokens: int = 160,
    repeat_penalty: float = 1.1, log: KeyedLog | None = None, progress: str | None = None,
) -> list[Answer]:
    """K answers per probe from one side, in probe/sample order.

    Each answer is a keyed step (`side/probe/sample`) in `log` (a run's `answer` events): a
    resumed run replays the ones already there and asks only for the others; each new one is
    logged the moment it exists. A failed call raises ModelError.
    """
    log = log if log is not None else KeyedLog()
    client = client or ModelClient(side.model)
    params = GenerationParams(temperature=temperature, max_tokens=max_tokens, seed=seed,
                              repeat_penalty=repeat_penalty)
    system = system_prompt(side)
    jobs = [(probe, k) for probe in probes for k in range(samples)]
    todo = sum(answer_key(side.label, p.id, k) not in log for p, k in jobs)

    async def go() -> list[Answer]:
        import asyncio

        from scai.progress import progress_bar

        with progress_bar(progress, todo) as advance:
            async def one(probe: Probe, k: int) -> Answer:
                key = answer_key(side.label, probe.id, k)
                fresh = key not in log
                messages = [Message(role="system", content=system)] if system else []
                messages.append(Message(role="user", content=probe.text))
                answer = Answer(side=side.label, prompt_id=probe.id, prompt=probe.text,
                                domain=probe.domain, sample=k, text="")
                step = await keyed_call(
                    client, log, key, messages, params, sample_index=k, kind="answer",
                    tags={"key": f"sample/{key}", "answer": key}, clean=str.strip,
                    extra=answer.model_dump(exclude={"text"}))
                if fresh:
                    advance(1)
                return answer.model_copy(update={"text": step.text})

            return list(await asyncio.gather(*(one(p, k) for p, k in jobs)))

    from scai.llm import run_sync

    try:
        return run_sync(go())
    except ModelError as exc:
        raise ModelError(f"sampling side {side.label!r}: {exc}") from exc
