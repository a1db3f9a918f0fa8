"""Converse: multi-agent conversations with private contexts, nested deliberation and judges."""

from scai.converse.conversation import Conversation
from scai.converse.floor import Outcome, Tally
from scai.converse.judge import Judgement
from scai.converse.judging import judge_steps
from scai.converse.result import ConverseResult, ConverseRun, judged_scores
from scai.converse.runner import run_converse
from scai.converse.scenario import AgentSpec, ConverseConfig, Deliberation
from scai.converse.transcript import Statement, Transcript
from scai.converse.turns import TURN_POLICIES, TurnTaking, turn_policy
from scai.rubric import JudgeSpec, Metric

__all__ = [
    "TURN_POLICIES", "AgentSpec", "Conversation", "ConverseConfig", "ConverseResult",
    "ConverseRun", "Deliberation", "JudgeSpec", "Judgement", "Metric", "Outcome", "Statement",
    "Tally", "Transcript", "TurnTaking", "judge_steps", "judged_scores", "run_converse",
    "turn_policy",
]
