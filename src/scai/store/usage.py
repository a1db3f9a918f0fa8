"""A run's call accounting: model calls, response-cache hits, tokens evaluated vs reused, time.

Summed in SQL over the run's `model_call` / `model_error` events (their payload is the client's
`CallRecord`), so a large store reads fast; a garbled payload is counted as unreadable, not fatal.
`RunStore.usage` and the dashboard's read-only view share this one reading.
"""

from __future__ import annotations

from dataclasses import dataclass

# Each call event's class: a call the model answered, a response-cache hit, a failure, or garbled.
_CLASSED = (
    "SELECT run_id, payload, CASE"
    " WHEN NOT json_valid(payload) THEN 'bad'"
    " WHEN type = 'model_error' THEN 'fail'"
    " WHEN json_extract(payload, '$.completion.cached') THEN 'hit'"
    " ELSE 'call' END AS k"
    " FROM events WHERE type IN ('model_call', 'model_error')"
)


def _made(path: str) -> str:
    """SUM of a usage field over the calls the model answered (a cache hit costs no model work)."""
    return f"SUM(CASE WHEN k = 'call' THEN json_extract(payload, '$.completion.usage.{path}') END)"


USAGE_SELECT = (
    "SELECT run_id, SUM(k = 'call'), SUM(k = 'hit'), SUM(k = 'fail'), SUM(k = 'bad'),"
    f" {_made('prompt_tokens')}, {_made('cached_tokens')}, {_made('completion_tokens')},"
    f" {_made('latency_s')}, {_made('cost_usd')},"
    " SUM(CASE WHEN k = 'call' THEN"
    "  json_type(payload, '$.completion.usage.cached_tokens') IS NOT NULL END)"
    " FROM ({classed}) GROUP BY run_id"
)


def usage_sql(run_id: str | None = None) -> tuple[str, list[str]]:
    """The query (and its arguments) summing every run's calls, or one run's."""
    classed = _CLASSED + (" AND run_id = ?" if run_id is not None else "")
    return USAGE_SELECT.format(classed=classed), [run_id] if run_id is not None else []


@dataclass(frozen=True)
class RunUsage:
    """What a run's model calls cost: calls made, cache hits, tokens evaluated vs reused, time.

    Token counts and seconds are over the calls the model answered; a response-cache hit is
    counted in `cache_hits` only. `reused_tokens` are prompt tokens served from a cached prefix
    (KV state) rather than evaluated; runs recorded before that was counted report none.
    """

    calls: int = 0  # calls the model answered (scores included)
    cache_hits: int = 0  # calls answered from the response cache
    failures: int = 0  # calls that failed (model_error events)
    unreadable: int = 0  # call events whose payload is garbled, left out of every sum
    prompt_tokens: int = 0
    reused_tokens: int = 0  # of prompt_tokens, served from a cached prefix
    completion_tokens: int = 0
    model_s: float = 0.0  # time spent in the model (sum of each call's latency)
    cost_usd: float | None = None  # None where no call has a price
    reuse_reported: int = 0  # calls that report their reuse (none in runs recorded before)

    @property
    def evaluated_tokens(self) -> int:
        """Prompt tokens the model evaluated (a call that reports no reuse evaluated them all)."""
        return self.prompt_tokens - self.reused_tokens

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens of the calls made."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def reuse_rate(self) -> float | None:
        """Reused / prompt tokens of the calls made; None where no call reports its reuse."""
        return self.reused_tokens / self.prompt_tokens \
            if self.reuse_reported and self.prompt_tokens else None

    def line(self) -> str:
        """One line for a person, e.g. `model calls 63 (+12 from cache), prompt 43,925 tokens
        (81% reused from cached prefixes), completion 2,070 tokens, 38.2 s of call time (summed over calls)`."""
        hits = f" (+{self.cache_hits:,} from cache)" if self.cache_hits else ""
        parts = [f"model calls {self.calls:,}{hits}"]
        if self.calls:
            rate = self.reuse_rate
            reuse = f" ({rate:.0%} reused from cached prefixes)" if rate is not None else ""
            parts += [f"prompt {self.prompt_tokens:,} tokens{reuse}",
                      f"completion {self.completion_tokens:,} tokens",
                      f"{self.model_s:.1f} s of call time (summed over calls)"]
        if self.cost_usd is not None:
            parts.append(f"${self.cost_usd:.4f}")
        if self.failures:
            parts.append(f"{self.failures:,} failed")
        if self.unreadable:
            parts.append(f"{self.unreadable:,} unreadable call record(s) left out")
        return ", ".join(parts)


def read_usage_row(row: tuple) -> tuple[str, RunUsage]:
    """A `usage_sql` row as (run id, RunUsage)."""
    run_id, calls, hits, fails, bad, prompt, reused, completion, secs, cost, reported = row
    return run_id, RunUsage(
        calls=int(calls or 0), cache_hits=int(hits or 0), failures=int(fails or 0),
        unreadable=int(bad or 0), prompt_tokens=int(prompt or 0),
        reused_tokens=int(reused or 0), completion_tokens=int(completion or 0),
        model_s=float(secs or 0.0), cost_usd=None if cost is None else float(cost),
        reuse_reported=int(reported or 0))
