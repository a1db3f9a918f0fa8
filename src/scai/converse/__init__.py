"""Converse: multi-agent conversations with private contexts, nested deliberation and judges."""

from scai.converse.engine import ClientPool, Conversation, StepLog, Tally
from scai.converse.judge import Judgement, judge_run
from scai.converse.render import render_transcript
from scai.converse.runner import ConverseResult, ConverseRun, run_converse
from scai.converse.scenario import AgentSpec, ConverseConfig, Deliberation, JudgeSpec, Metric
from scai.converse.transcript import Statement, Transcript

__all__ = [
    "AgentSpec", "ClientPool", "Conversation", "ConverseConfig", "ConverseResult", "ConverseRun",
    "Deliberation", "JudgeSpec", "Judgement", "Metric", "Statement", "StepLog", "Tally",
    "Transcript", "judge_run", "render_transcript", "run_converse",
]
