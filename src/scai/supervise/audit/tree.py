"""The audit's conversation tree: every message ever sent, branches kept, nothing overwritten.

A node is one message (the auditor's to the target, or the target's reply) at a turn, under its
parent. A rollback to turn k starts a new branch from the target reply that closed turn k (or from
the root for k = 0); the old branch stays in the tree. A branch is a root-to-leaf path.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Role = Literal["auditor", "target"]


class Node(BaseModel):
    """One message: its id (creation order), parent (None at the root), turn, role and text."""

    id: int
    parent: int | None
    turn: int = Field(ge=1, description="The exchange it belongs to, counted from the root.")
    role: Role
    text: str
    branch: int = Field(ge=0, description="The branch it was written on (0 = the first).")


class Branch(BaseModel):
    """A root-to-leaf path: its index, the branch it split from and at which turn, its nodes."""

    index: int
    parent_branch: int | None = None
    from_turn: int = 0  # the turns it shares with its parent branch
    nodes: list[Node]

    def text(self) -> str:
        """The branch as the judge reads it: one `[turn N] Role: text` block per message."""
        return "\n\n".join(f"[turn {n.turn}] {n.role.capitalize()}: {n.text}" for n in self.nodes)


class Tree(BaseModel):
    """Every node of one audit, in creation order; `head` is the node the next message follows."""

    nodes: list[Node] = Field(default_factory=list)
    head: int | None = None
    branch: int = 0  # the branch being written
    forks: dict[int, tuple[int | None, int]] = Field(
        default_factory=dict, description="branch -> (the branch it split from, the turns kept)")

    def path(self, node: int | None = None) -> list[Node]:
        """The messages from the root to `node` (default: the head), oldest first."""
        found: list[Node] = []
        at = self.head if node is None else node
        while at is not None:
            found.append(self.nodes[at])
            at = self.nodes[at].parent
        return found[::-1]

    @property
    def depth(self) -> int:
        """Turns on the current branch."""
        return self.nodes[self.head].turn if self.head is not None else 0

    def add(self, role: Role, text: str) -> Node:
        """A message after the head, on the current branch; it becomes the head."""
        turn = self.depth + 1 if role == "auditor" else self.depth
        node = Node(id=len(self.nodes), parent=self.head, turn=max(turn, 1), role=role, text=text,
                    branch=self.branch)
        self.nodes.append(node)
        self.head = node.id
        return node

    def rollback(self, keep_turns: int) -> None:
        """Start a new branch that keeps the first `keep_turns` turns of the current one."""
        if not 0 <= keep_turns < self.depth:
            raise ValueError(f"cannot keep {keep_turns} turns of a branch of {self.depth}")
        kept = [n for n in self.path() if n.turn <= keep_turns]
        self.forks[len(self.forks) + 1] = (self.branch, keep_turns)
        self.branch = len(self.forks)
        self.head = kept[-1].id if kept else None

    def branches(self) -> list[Branch]:
        """Every branch, in the order they were started, each as its full root-to-leaf path."""
        leaves: dict[int, int] = {}
        for n in self.nodes:
            leaves[n.branch] = n.id
        return [Branch(index=b, parent_branch=self.forks.get(b, (None, 0))[0],
                       from_turn=self.forks.get(b, (None, 0))[1], nodes=self.path(leaf))
                for b, leaf in sorted(leaves.items())]
