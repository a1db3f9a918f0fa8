"""Per-group constitutions (`groups: {mode: per_group}`): one constitution per user group.

The assistant keeps one constitution per *slot* (as many as the society has groups); the router
(router.py) says which slot each user is in. Facing a user, the assistant follows that slot's
constitution. After each epoch the learner runs once per slot, on that slot's view of every
episode so far (`slot_view`: the games where a user of the slot acted, another slot's user's
actions hidden), with its own step keys (`grp:{slot}|...`). Events: each slot's
constitution `c{epoch}@{slot}`, the combined constitution `c{epoch}` (one line per slot), the
routing `r{epoch}`; a resumed run replays all three. Per-group metrics (`group_share:G`,
`group_norm:G`, `group_gap:G`, `group_utility:G`) are read by true group, in either mode.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import Field

from scai.config import ConfigModel
from scai.contract.constitution import Constitution, constitution_key
from scai.contract.episode import Episode, Player
from scai.contract.learner import LEARNERS, learning_context
from scai.contract.result import EpochRecord
from scai.contract.router import Route, observed_route, oracle_route, route_key
from scai.contract.steps import Caller
from scai.contract.tasks import Task
from scai.contract.tasks.base import task_types
from scai.contract.tasks.society import group_label
from scai.store import Run

GROUP_METRICS = ("group_share", "group_norm", "group_gap", "group_utility")


class GroupsConfig(ConfigModel):
    """How the assistant treats the task's user groups: one shared constitution, or one each."""

    mode: Literal["shared", "per_group"] = Field(
        "shared", description="shared: one constitution for everyone; per_group: one per user "
        "group, the router choosing which one the assistant follows facing a user.")
    router: Literal["oracle", "observed"] = Field(
        "oracle", description="per_group: oracle (the user's true group; an ablation) or "
        "observed (k-means on what the assistant saw: the user's words and past actions).")
    baseline: bool = Field(
        True, description="per_group: also run the shared-constitution arm (same seed, same "
        "society) as its own run and report it beside.")
    text_weight: float = Field(
        0.5, ge=0, le=10, description="observed: weight of the words' embedding (unit length) "
        "against the actions (shares in 0..1) in the router's distance.")


# -- who is in which group ------------------------------------------------------------------------
def per_group_problem(task: Any) -> str | None:
    """Why a task config cannot have per-group constitutions, or None (one line, for the
    config error): it needs a seated society with two or more groups, each with a user."""
    groups, fixed = getattr(task, "groups", None), getattr(task, "fixed", None)
    if not getattr(task, "one_user_at_a_time", False) or not isinstance(groups, list) \
            or fixed is None or not all(hasattr(g, "policy") for g in groups):
        return (f"the {task.type} game does not seat the assistant with one user at a time, so "
                f"no router can pick a constitution per user; per-group constitutions need "
                f"task.type {' or '.join(task_types('one_user_at_a_time'))}")
    labels = {(g.policy, g.manner) for g in groups}
    if len(labels) < 2:
        return "task.groups needs two or more groups (differing in policy or manner)"
    total = sum(g.weight for g in groups)
    counts = [round(fixed * g.weight / total) for g in groups]
    counts[-1] = fixed - sum(counts[:-1])  # the rounding build_society seats by
    if min(counts) < 1:
        return (f"task.fixed {fixed} leaves a group without users at these weights "
                f"(seated: {counts}); raise task.fixed")
    return None


def users(task: Task) -> list[Player]:
    """The task's fixed users (the people a router routes)."""
    return [p for p in getattr(task, "players", []) if p.kind == "fixed"]


def true_groups(task: Task) -> dict[str, str]:
    """Each user's true group label (policy, with the manner where two groups share one)."""
    return {p.id: group_label(p, task.cfg.groups) for p in users(task)}  # type: ignore[attr-defined]


def slot_names(config: Any, task: Task) -> list[str]:
    """The constitutions' slots: the groups (oracle) or anonymous clusters (observed)."""
    groups = sorted(set(true_groups(task).values()))
    if config.groups.router == "oracle":
        return groups
    return [f"cluster-{i}" for i in range(len(groups))]


def slot_key(epoch: int, slot: str) -> str:
    """The event key of one slot's constitution in force at `epoch`."""
    return f"{constitution_key(epoch)}@{slot}"


def combined(current: dict[str, Constitution], epoch: int) -> Constitution:
    """All slots' constitutions as one record (one line per slot), for readers of `c{epoch}`."""
    return Constitution(
        principles=[f"[{s}] {c.text()}" for s, c in current.items()], epoch=epoch,
        source="per_group", rationale="; ".join(f"{s}: {c.source}" for s, c in current.items()))


# -- per-group metrics (true groups) --------------------------------------------------------------
def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _settled(d: Any) -> bool:
    """Whether a game's payoffs stand: the responder decided, or the game has no decision."""
    return d.decision is not None or "decision" not in type(d).model_fields


def group_metrics(episodes: list[Episode], truth: dict[str, str]) -> dict[str, float | None]:
    """Per true group G: the assistant's offered share to G's users (`group_share:G`), the share
    G's users offer (`group_norm:G`), the gap between them, and G's users' payoff share in their
    games with the assistant (`group_utility:G`; a rejected offer pays 0)."""
    share: dict[str, list[float]] = {g: [] for g in truth.values()}
    norm: dict[str, list[float]] = {g: [] for g in truth.values()}
    utility: dict[str, list[float]] = {g: [] for g in truth.values()}
    for ep in episodes:
        d: Any = ep.data
        if getattr(d, "share", None) is None:
            continue
        p, r = d.proposer, d.responder
        if p.kind == "flexible" and r.id in truth:
            share[truth[r.id]].append(d.share)
        if p.id in truth:
            norm[truth[p.id]].append(d.share)
        if _settled(d) and p.id in truth and r.kind == "flexible":
            utility[truth[p.id]].append(d.payoff_proposer / d.amount)
        if _settled(d) and r.id in truth and p.kind == "flexible":
            utility[truth[r.id]].append(d.offer / d.amount if d.decision != "reject" else 0.0)
    out: dict[str, float | None] = {}
    for g in sorted(share):
        s, n = _mean(share[g]), _mean(norm[g])
        out[f"group_share:{g}"] = s
        out[f"group_norm:{g}"] = n
        out[f"group_gap:{g}"] = abs(s - n) if s is not None and n is not None else None
        out[f"group_utility:{g}"] = _mean(utility[g])
    return out


# -- what one slot's learner sees -----------------------------------------------------------------
def slot_view(ep: Episode, members: set[str]) -> Episode | None:
    """The episode as evidence about the users in `members`: kept when one of them acted; an
    outside user's decision is hidden (an outside proposer's game is left out entirely, since
    what a member decided was a reply to an outsider's offer)."""
    d: Any = ep.data
    p, r = getattr(d, "proposer", None), getattr(d, "responder", None)
    if p is None or r is None:
        return None
    inside = [x.id in members for x in (p, r) if x.kind == "fixed"]
    if not any(inside) or (p.kind == "fixed" and p.id not in members):
        return None
    if r.kind == "fixed" and r.id not in members and d.decision is not None:
        hidden = d.model_copy(update={"decision": None, "payoff_proposer": 0,
                                      "payoff_responder": 0})
        return ep.model_copy(update={"data": hidden, "messages": [
            m for m in ep.messages if m.role != "responder"]})
    return ep


@dataclass
class SlotCaller(Caller):
    """The run's step maker for one slot's learner: its keys prefixed `grp:{slot}|`, so no two
    slots share a logged step. The seed stays the run's: what a learner draws from it alone
    (a scripted mediator member's ideal) is the same person in every slot and arm."""

    prefix: str = ""

    async def structured(self, model, key, messages, schema, **kw):  # type: ignore[override]
        return await super().structured(model, f"{self.prefix}|{key}", messages, schema, **kw)

    async def text(self, model, key, messages, **kw):  # type: ignore[override]
        return await super().text(model, f"{self.prefix}|{key}", messages, **kw)

    async def score(self, model, key, messages, continuations, **kw):  # type: ignore[override]
        return await super().score(model, f"{self.prefix}|{key}", messages, continuations, **kw)


def slot_caller(steps: Caller, slot: str) -> SlotCaller:
    """`steps` for one slot (shares the pool, the log and the counters)."""
    return SlotCaller(steps.pool, steps.log, steps.seed, steps.params, steps.counts,
                      prefix=f"grp:{slot}")


def slot_task(task: Task, steps: Caller, members: set[str]) -> Task:
    """The game as one slot's learner sees it: scored through the slot's step maker (bayes),
    seating only the slot's users beside the assistant (a mediator's deliberating members)."""
    view = copy.copy(task)
    view.table = replace(task.table, steps=steps)
    if hasattr(task, "players"):
        view.players = [p for p in task.players  # type: ignore[attr-defined]
                        if p.kind == "flexible" or p.id in members]
    return view


# -- the loop -------------------------------------------------------------------------------------
@dataclass
class GroupLoop:
    """Per-group state of one run: the slots' constitutions, learners, histories and routes."""

    config: Any
    run: Run
    task: Task
    initial: Constitution

    def __post_init__(self) -> None:
        self.truth = true_groups(self.task)
        self.slots = slot_names(self.config, self.task)
        self.done_cons = {e.key: Constitution.model_validate(e.payload)
                          for e in self.run.events("constitution") if e.key}
        self.done_routes = {e.key: Route.model_validate(e.payload)
                            for e in self.run.events("route") if e.key}
        self.current = {s: self.done_cons.get(slot_key(0, s)) or self.initial for s in self.slots}
        for s, c in self.current.items():
            self._log(slot_key(0, s), c)
        self._log(constitution_key(0), combined(self.current, 0))
        steps = self.task.table.steps
        make = LEARNERS.get(self.config.learner.type)
        model = self.config.meta_model or self.config.model
        self.callers = {s: slot_caller(steps, s) for s in self.slots}
        self.learners = {s: make(self.config.learner, self.callers[s], model)
                         for s in self.slots} if make else {}
        self.history: dict[str, list[tuple[Constitution, str]]] = {s: [] for s in self.slots}
        self.routes: dict[int, Route] = {}

    def _log(self, key: str, c: Constitution) -> None:
        if key not in self.done_cons:
            self.run.log("constitution", c.model_dump(exclude_none=True), key=key)
            self.done_cons[key] = c

    def route(self, epoch: int, episodes: list[Episode]) -> Route:
        """The routing in force at `epoch` (replayed, else computed from earlier epochs)."""
        if epoch in self.routes:
            return self.routes[epoch]
        found = self.done_routes.get(route_key(epoch))
        if found is None:
            if self.config.groups.router == "oracle":
                found = oracle_route(epoch, self.truth)
            else:
                before = self.routes.get(epoch - 1) or self.done_routes.get(route_key(epoch - 1))
                found = observed_route(
                    epoch, users(self.task), self.truth, episodes, self.slots,
                    self.task.table.seed, text_weight=self.config.groups.text_weight,
                    previous=before.slots if before else None)
            self.run.log("route", found.model_dump(), key=route_key(epoch))
        self.routes[epoch] = found
        return found

    def face(self, route: Route) -> None:
        """Tell the game which constitution the assistant follows facing each user."""
        self.task.facing = {u: self.current[s] for u, s in route.slots.items()}  # type: ignore[attr-defined]

    def record(self, epoch: int, metrics: dict[str, float | None], counts: tuple[int, int],
               route: Route) -> EpochRecord:
        """The epoch's record: every slot's constitution, the route, the metrics."""
        metrics = {**metrics, "routing_accuracy": route.accuracy}
        return EpochRecord(epoch=epoch, constitution=combined(self.current, epoch),
                           metrics=metrics, episodes_run=counts[0], episodes_replayed=counts[1],
                           groups=dict(self.current), route=route)

    async def learn(self, epoch: int, episodes: list[Episode]) -> None:
        """Every slot's next constitution, each from its own view of the episodes."""
        played = self.routes[epoch]
        nxt = self.route(epoch + 1, episodes)

        async def one(slot: str) -> tuple[str, Constitution]:
            faced = {u for u, s in played.slots.items() if s == slot}
            now = [v for e in episodes if e.epoch == epoch and (v := slot_view(e, faced))]
            self.history[slot].append((self.current[slot],
                                       self.task.score_text(self.task.metrics(now))))
            key = slot_key(epoch + 1, slot)
            if key in self.done_cons or slot not in self.learners:
                return slot, self.done_cons.get(key) or self.current[slot]
            members = {u for u, s in nxt.slots.items() if s == slot}
            views = [v for e in episodes if (v := slot_view(e, members))]
            if not members or not views:  # nobody to learn from: the slot keeps its text
                return slot, self.current[slot].model_copy(update={
                    "epoch": epoch + 1, "source": "kept",
                    "rationale": "no user routed to this slot has acted yet"})
            view = slot_task(self.task, self.callers[slot], members)
            ctx = learning_context(view, self.config.memory, self.config.seed, epoch,
                                   self.current[slot], self.history[slot], views)
            return slot, await self.learners[slot].learn(ctx)

        for slot, c in await asyncio.gather(*(one(s) for s in self.slots)):
            self._log(slot_key(epoch + 1, slot), c)
            self.current[slot] = c
        self._log(constitution_key(epoch + 1), combined(self.current, epoch + 1))


Play = Callable[[int, Constitution], Awaitable[tuple[list[Episode], dict[str, Any], tuple[int, int]]]]


async def run_groups(loop: GroupLoop, epochs: int, learn: bool, play: Play) -> list[EpochRecord]:
    """The per-group epochs: route, play (each user facing its slot's constitution), record,
    learn per slot. `play(epoch, default)` plays one epoch: its episodes, the game's metrics and
    (episodes run, episodes replayed)."""
    episodes: list[Episode] = []
    records = []
    for epoch in range(epochs):
        route = loop.route(epoch, episodes)
        loop.face(route)
        played, metrics, counts = await play(epoch, loop.current[loop.slots[0]])
        metrics.update(group_metrics(played, loop.truth))
        loop.run.log("epoch", {"epoch": epoch, "metrics": {
            **metrics, "routing_accuracy": route.accuracy}}, key=f"e{epoch}")
        records.append(loop.record(epoch, metrics, counts, route))
        episodes += played
        if learn and loop.learners and epoch < epochs - 1:
            await loop.learn(epoch, episodes)
    return records
