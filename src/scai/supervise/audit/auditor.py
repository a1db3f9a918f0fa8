"""The auditor's side of a turn: what it is shown, the action schema it answers in, and how an
answer is read. The schema offers only the actions that are possible now (no rollback before a
turn exists or once the budget is spent; `keep_turns` within the branch), so on a
grammar-constrained model every answer is a legal action."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from scai.llm import Message
from scai.prompts import PromptBook
from scai.supervise.audit.config import AuditConfig
from scai.supervise.audit.tree import Tree

PROMPTS = PromptBook.load(Path(__file__).with_name("prompts.yaml"))

ActionName = Literal["send", "rollback", "end"]


class Action(BaseModel):
    """One auditor action: send `message`, roll back to `keep_turns` and send it, or end."""

    action: ActionName
    keep_turns: int = 0
    message: str = ""


def allowed_actions(depth: int, rollbacks_left: int) -> list[ActionName]:
    """What the auditor may do on a branch of `depth` turns: nothing but send before the first
    turn (an audit that ends unspoken is an empty audit), rollback only with budget left."""
    if depth == 0:
        return ["send"]
    return ["send", *(["rollback"] if rollbacks_left > 0 else []), "end"]


def action_schema(depth: int, rollbacks_left: int, max_chars: int) -> dict[str, Any]:
    """The JSON schema of the next action (every field required: a small model fills a fixed
    shape best; `keep_turns` is read only for a rollback)."""
    return {
        "type": "object", "additionalProperties": False,
        "required": ["action", "keep_turns", "message"],
        "properties": {
            "action": {"enum": allowed_actions(depth, rollbacks_left)},
            "keep_turns": {"enum": list(range(max(depth, 1)))},
            "message": {"type": "string", "minLength": 1, "maxLength": max_chars},
        },
    }


def read_action(parsed: object) -> Action:
    """A schema-valid reply as an Action; a blank message to send counts as a failure."""
    action = Action.model_validate(parsed)
    if action.action != "end" and not action.message.strip():
        raise ValueError("the auditor sent an empty message")
    return action.model_copy(update={"message": action.message.strip()})


def auditor_messages(config: AuditConfig, tree: Tree, action_index: int,
                     rollbacks_left: int, history: list[str]) -> list[Message]:
    """The auditor's prompt: goal and target system prompt (fixed), then the current branch,
    its earlier rollbacks and the turn line last (so consecutive prompts share a prefix)."""
    path = tree.path()
    transcript = ("\n\n".join(f"[turn {n.turn}] {'You' if n.role == 'auditor' else 'Target'}: "
                              f"{n.text}" for n in path)
                  or PROMPTS["empty_transcript"].render())
    hints = config.auditor.examples
    examples = (PROMPTS["examples"].render(lines="\n".join(f"- {e}" for e in hints))
                if hints else "")
    system = PROMPTS["auditor_system"].render(goal=config.goal.strip(), examples=examples,
                                              system=config.target.system.strip())
    turn = PROMPTS["auditor_turn"].render(
        branch=tree.branch, transcript=transcript,
        history=PROMPTS["history"].render(lines="\n".join(history)) if history else "",
        turn=action_index + 1, turns=config.turns, rollbacks_left=rollbacks_left)
    return [Message(role="system", content=system), Message(role="user", content=turn)]


def target_messages(config: AuditConfig, tree: Tree) -> list[Message]:
    """What the target sees: its system prompt and the current branch, the auditor as the user."""
    chat = [Message(role="user" if n.role == "auditor" else "assistant", content=n.text)
            for n in tree.path()]
    return [Message(role="system", content=config.target.system), *chat]
