"""The judges of a run, as keyed steps: the final judgements (summary, then scores) and the
judge that may end a conversation early. Both are logged and replayed like every other step.

The messages and seeds are exactly those the judges sent before judgements became steps (recorded
runs replay them from the cache); only the step log around them is added here. (A block context
policy cuts the judge-done transcript by whole lines once it is long: judge.transcript_text.)
"""

from __future__ import annotations

from scai.converse.agent import PROMPTS
from scai.converse.conversation import JudgeDone
from scai.converse.floor import Tally
from scai.converse.judge import Judgement, judge_finished, transcript_text
from scai.converse.keys import judge_key
from scai.converse.scenario import ConverseConfig
from scai.converse.transcript import Transcript
from scai.llm import GenerationParams, Message, ModelClient
from scai.rubric import JudgeSpec, metric_lines, scores_schema
from scai.steps import ClientPool, Counts, KeyedLog, derive_seed, keyed_call


async def judge_steps(
    spec: JudgeSpec, client: ModelClient, transcript: Transcript, log: KeyedLog, *, seed: int,
    params: GenerationParams | None = None, counts: Counts | None = None,
) -> Judgement:
    """Summary (free text), then scores (structured); scores that fail their schema are
    recorded as the step's error and become `Judgement.error`, never a default score."""
    text = transcript_text(transcript)
    base = (params or GenerationParams()).model_copy(update={"seed": seed, "temperature": 0.2})
    system = Message(role="system", content=spec.instructions)
    summary = await keyed_call(
        client, log, judge_key(spec.name, "summary"),
        [system, Message(role="user", content=PROMPTS["judge_summary"].render(transcript=text))],
        base.model_copy(update={"max_tokens": 220}), kind="judge-summary", counts=counts,
    )
    judgement = Judgement(judge=spec.name, summary=summary.text.strip())
    if not spec.metrics:
        return judgement
    rubric = metric_lines(spec)
    scored = await keyed_call(
        client, log, judge_key(spec.name, "scores"),
        [system, Message(role="user", content=PROMPTS["judge_scores"].render(
            transcript=text, metrics=rubric))],
        base.model_copy(update={"max_tokens": 320, "json_schema": scores_schema(spec)}),
        kind="judge-scores", failures="record", counts=counts,
    )
    if scored.failed:
        judgement.error = scored.error
        return judgement
    judgement.scores = {k: int(v) for k, v in scored.parsed["scores"].items()}
    judgement.rationale = scored.parsed.get("rationale", "")
    return judgement


async def judge_all(config: ConverseConfig, pool: ClientPool, log: KeyedLog,
                    transcript: Transcript) -> list[Judgement]:
    """Every judge of the scenario on the finished transcript, in order."""
    counts = Counts()  # judges' calls are not the conversation's: kept out of its tally
    return [await judge_steps(spec, pool.get(spec.model), transcript, log, counts=counts,
                              seed=derive_seed(config.seed, judge_key(spec.name)),
                              params=config.params)
            for spec in config.judges]


def judge_done_step(config: ConverseConfig, pool: ClientPool, log: KeyedLog,
                    tally: Tally) -> JudgeDone:
    """After each round, the first judge says whether the conversation is over (a step
    `{"kind": "judge-done", "finished": ...}`; an answer that does not parse means "go on")."""
    spec = config.judges[0]

    async def judge_done(transcript: Transcript, key: str) -> bool:
        done = log.get(key)
        if done is None:
            verdict = await judge_finished(spec, pool.get(spec.model), transcript,
                                           seed=derive_seed(config.seed, key),
                                           context=config.context)
            if verdict is None:
                tally.parse_failures += 1
                log.event("parse_failure", {"step": key, "what": "judge-done"})
            done = {"kind": "judge-done", "finished": bool(verdict)}
            log.put(key, done)
        return done["finished"]

    return judge_done
