"""Sampling: K answers per probe from one side, each call keyed so a resumed run skips it."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from scai.config import parse_yaml
from scai.datafiles import read_text
from scai.errors import ConfigError, ModelError
from scai.llm import ChatRequest, GenerationParams, Message, ModelClient
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


def sample_requests(
    side: DiffSide, probes: list[Probe], samples: int, params: GenerationParams, *,
    done: set[str] = frozenset(),
) -> list[ChatRequest]:
    """The calls still to make for one side: one per (probe, sample) whose key is not done."""
    system = system_prompt(side)
    requests = []
    for probe in probes:
        messages = [Message(role="system", content=system)] if system else []
        messages.append(Message(role="user", content=probe.text))
        for k in range(samples):
            key = answer_key(side.label, probe.id, k)
            if key not in done:
                requests.append(ChatRequest(messages=messages, params=params, sample_index=k,
                                            tags={"key": f"sample/{key}", "answer": key}))
    return requests


def sample_answers(
    side: DiffSide, probes: list[Probe], samples: int, seed: int, *,
    client: ModelClient | None = None, temperature: float = 0.8, max_tokens: int = 160,
    repeat_penalty: float = 1.1, done: dict[str, Answer] | None = None,
    on_answer: Callable[[Answer], None] | None = None, progress: str | None = None,
) -> list[Answer]:
    """K answers per probe from one side, in probe/sample order.

    `done` holds answers already made (a resumed run); only the others are requested, and
    each new one is passed to `on_answer` as soon as it exists. A failed call raises ModelError.
    """
    done = dict(done or {})
    client = client or ModelClient(side.model)
    params = GenerationParams(temperature=temperature, max_tokens=max_tokens, seed=seed,
                              repeat_penalty=repeat_penalty)
    by_id = {p.id: p for p in probes}
    requests = sample_requests(side, probes, samples, params, done=set(done))

    async def go() -> None:
        import asyncio

        from scai.progress import progress_bar

        with progress_bar(progress, len(requests)) as advance:
            async def one(req: ChatRequest) -> None:
                completion = await client.complete(req.messages, req.params,
                                                   sample_index=req.sample_index, tags=req.tags)
                _, pid, k = req.tags["answer"].rsplit("/", 2)
                probe = by_id[pid]
                answer = Answer(side=side.label, prompt_id=pid, prompt=probe.text,
                                domain=probe.domain, sample=int(k), text=completion.text.strip())
                done[answer.key] = answer
                if on_answer is not None:
                    on_answer(answer)
                advance(1)

            await asyncio.gather(*(one(r) for r in requests))

    from scai.llm import run_sync

    try:
        run_sync(go())
    except ModelError as exc:
        raise ModelError(f"sampling side {side.label!r}: {exc}") from exc
    return [done[answer_key(side.label, p.id, k)] for p in probes for k in range(samples)]
