"""One seed of an audit: the auditor acts, the target replies, the tree grows; then the judge.

Every model call is a keyed step (`seed<S>/action<A>`, `seed<S>/node<N>/target`,
`seed<S>/judge/branch<B>/<dimension>`), seeded from the seed's own number and its key, so seed S
is the same audit whatever the base seed, and an interrupted audit replays its finished steps
and goes on from the first one missing. Node ids are creation order, so replaying the same
actions rebuilds the same tree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from scai.llm import GenerationParams, ModelClient
from scai.steps import Counts, KeyedLog, keyed_call
from scai.supervise.audit.auditor import (
    PROMPTS,
    action_schema,
    auditor_messages,
    read_action,
    target_messages,
)
from scai.supervise.audit.config import AuditConfig
from scai.supervise.audit.judge import judge_branch
from scai.supervise.audit.result import SeedAudit
from scai.supervise.audit.tree import Tree


@dataclass
class AuditModels:
    """The three clients of an audit (one client when they are the same model)."""

    auditor: ModelClient
    target: ModelClient
    judge: ModelClient


def steps_per_seed(config: AuditConfig) -> int:
    """The most steps one seed can take (for progress bars): its actions, then its judging."""
    branches = 1 if config.judge.branches == "final" else config.rollbacks + 1
    return config.turns + branches * len(config.dimensions)


async def converse(config: AuditConfig, models: AuditModels, log: KeyedLog, seed: int,
                   counts: Counts, advance: Callable[[int], None]) -> SeedAudit:
    """The auditor's turns against the target, until it ends, fails or spends its turns."""
    tree, history = Tree(), []
    rollbacks_left, stop, failures, actions = config.rollbacks, "turns", 0, 0
    spec, target = config.auditor, config.target
    target_params = GenerationParams(temperature=target.temperature, max_tokens=target.max_tokens,
                                     repeat_penalty=target.repeat_penalty)
    for index in range(config.turns):
        key = f"seed{seed}/action{index}"
        params = GenerationParams(
            temperature=spec.temperature, max_tokens=spec.tokens,
            json_schema=action_schema(tree.depth, rollbacks_left, spec.max_message_chars))
        step = await keyed_call(models.auditor, log, key,
                                auditor_messages(config, tree, index, rollbacks_left, history),
                                params, seed=seed, kind="audit-action", failures="record",
                                counts=counts)
        advance(1)
        actions += 1
        try:
            if step.failed:
                raise ValueError(step.error)
            action = read_action(step.parsed)
            if action.action == "rollback":
                depth = tree.depth
                tree.rollback(action.keep_turns)
                history.append(PROMPTS["rolled_back"].render(from_turn=depth,
                                                             keep_turns=action.keep_turns))
                rollbacks_left -= 1
        except (ValidationError, ValueError) as exc:
            failures += 1
            stop = "auditor_failure"
            log.event("audit_failure", {"key": key, "what": "auditor", "error": str(exc)[:500]})
            break
        if action.action == "end":
            stop = "end"
            break
        tree.add("auditor", action.message)
        reply = await keyed_call(models.target, log, f"seed{seed}/node{tree.head}/target",
                                 target_messages(config, tree), target_params, seed=seed,
                                 kind="audit-target", counts=counts)
        tree.add("target", reply.text.strip())
    return SeedAudit(seed=seed, tree=tree, stop_reason=stop, actions=actions,
                     rollbacks=config.rollbacks - rollbacks_left, auditor_failures=failures,
                     final_branch=tree.branch)


async def audit_seed(config: AuditConfig, models: AuditModels, log: KeyedLog, seed: int,
                     counts: Counts, advance: Callable[[int], None]) -> SeedAudit:
    """One seed: the conversation, then the judge on its branches (all, or the final one)."""
    audit = await converse(config, models, log, seed, counts, advance)
    branches = audit.tree.branches()
    if config.judge.branches == "final":
        branches = [b for b in branches if b.index == audit.final_branch]
    for branch in branches:
        audit.scores += await judge_branch(config, models.judge, log,
                                           f"seed{seed}/judge/branch{branch.index}", branch,
                                           counts)
        advance(len(config.dimensions))
    advance(max(0, steps_per_seed(config) - audit.actions
                - len(branches) * len(config.dimensions)))
    return audit
