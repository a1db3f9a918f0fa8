"""Where a window over a growing record begins: the one rule every bounded view of a
conversation follows (an agent's context, the moderator's history, the judge's transcript).

The cut is a pure function of the record, so a resumed run cuts where the first one did. It
moves only when what follows it exceeds the budget, and then by a block: past the oldest items
until the rest fits in the low-water mark. Between two cuts the window only grows at its end,
so consecutive prompts share everything before the newest lines (what a KV prefix cache
reuses). With the low-water mark at the budget, the window slides one item at a time.
"""

from __future__ import annotations

from collections.abc import Sequence


def cut_point(costs: Sequence[int], budget: int, low: int, keep_last: int = 1) -> int:
    """The index of the first item kept, for items of these `costs` (oldest first).

    Walking forward, the cut moves only when the kept items cost more than `budget`, and then
    until they cost at most `low`; it never passes the newest `keep_last` items.
    """
    cut, used = 0, 0
    for end, cost in enumerate(costs, 1):
        used += cost
        if used > budget:
            while used > low and end - cut > keep_last:
                used -= costs[cut]
                cut += 1
    return cut
