"""Saved KV states of prompt prefixes, so a call evaluates only what no earlier call began with.

llama.cpp keeps one sequence in its context: the tokens it last evaluated. Agents that take turns
overwrite each other's sequence, so without help almost nothing is reused. `PrefixCache` keeps
copies of the KV state of sequences evaluated before (llama.cpp's per-sequence state API), finds
the one sharing the longest token prefix with a new prompt, and `restore` puts it back; the model
then evaluates only the tokens after the shared prefix (llama-cpp-python truncates the restored
sequence to that prefix itself).

The copies are bounded by a memory budget, least recently used first out. A sequence that another
cached one extends is dropped (the longer one serves every prompt the shorter one could). The
model's outputs do not depend on the cache: the restored state is the state evaluation produced.
"""

from __future__ import annotations

import ctypes
import mmap
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_BUDGET_MB = 1024
ENV_BUDGET = "SCAI_PREFIX_CACHE_MB"
MIB = 1 << 20


def budget_mb(setting: int | None) -> int:
    """The budget a model's settings ask for: the setting, else $SCAI_PREFIX_CACHE_MB, else the
    default (1024 MiB). 0 turns the cache off."""
    if setting is not None:
        return setting
    raw = os.environ.get(ENV_BUDGET, "").strip()
    if not raw:
        return DEFAULT_BUDGET_MB
    try:
        value = int(raw)
    except ValueError:
        from scai.errors import ConfigError

        raise ConfigError(f"${ENV_BUDGET}={raw!r}: expected a whole number of MiB "
                          "(0 turns the prefix cache off)") from None
    if value < 0:
        from scai.errors import ConfigError

        raise ConfigError(f"${ENV_BUDGET}={raw!r}: must be 0 (off) or more MiB")
    return value


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    """How many leading tokens two token arrays share."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n


@dataclass
class Entry:
    """One saved sequence: its tokens and llama.cpp's state of it."""

    tokens: np.ndarray
    state: Any  # an anonymous mmap holding llama.cpp's bytes
    size: int


@dataclass
class CacheStats:
    """What the cache did since the model was loaded."""

    restores: int = 0
    restored_tokens: int = 0
    saves: int = 0
    evictions: int = 0
    bytes: int = 0
    peak_bytes: int = 0
    entries: int = 0
    refused: int = 0  # states larger than the whole budget, never stored
    failures: int = 0  # saves or restores llama.cpp refused (the call evaluated from scratch)


class PrefixCache:
    """Token sequences and their KV states, found by longest shared prefix, bounded in bytes."""

    def __init__(self, budget_bytes: int):
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[int, Entry] = OrderedDict()  # oldest use first
        self._next = 0
        self.stats = CacheStats()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return sum(e.size for e in self._entries.values())

    def best(self, tokens: np.ndarray) -> tuple[Entry | None, int]:
        """The entry sharing the longest prefix with `tokens`, and that length (0: none)."""
        best_id, best_n = None, 0
        for id_, entry in self._entries.items():
            n = common_prefix(entry.tokens, tokens)
            if n > best_n:
                best_id, best_n = id_, n
        if best_id is None:
            return None, 0
        self._entries.move_to_end(best_id)
        return self._entries[best_id], best_n

    def covers(self, tokens: np.ndarray) -> bool:
        """Whether a cached sequence already begins with all of `tokens` (nothing to save)."""
        for id_, entry in self._entries.items():
            if len(entry.tokens) >= len(tokens) and common_prefix(entry.tokens, tokens) == len(tokens):
                self._entries.move_to_end(id_)
                return True
        return False

    def put(self, tokens: np.ndarray, state: Any, size: int) -> None:
        """Store a sequence's state; drop what it extends; evict the least recently used until
        the cache is within its budget."""
        if size > self.budget_bytes:
            self.stats.refused += 1
            return
        for id_ in [i for i, e in self._entries.items()
                    if len(e.tokens) <= len(tokens)
                    and common_prefix(e.tokens, tokens) == len(e.tokens)]:
            del self._entries[id_]
        self._entries[self._next] = Entry(tokens=tokens.copy(), state=state, size=size)
        self._next += 1
        self.stats.saves += 1
        self.shrink()

    def make_room(self, size: int = 0) -> None:
        """Evict least recently used entries until `size` more bytes fit in the budget."""
        total = self.bytes
        while self._entries and total + size > self.budget_bytes:
            _, old = self._entries.popitem(last=False)
            total -= old.size
            self.stats.evictions += 1
        self.stats.bytes, self.stats.entries = total, len(self._entries)
        self.stats.peak_bytes = max(self.stats.peak_bytes, total)

    def shrink(self, budget_bytes: int | None = None) -> None:
        """Evict least recently used entries until the cache fits (a new budget, if given)."""
        if budget_bytes is not None:
            self.budget_bytes = budget_bytes
        self.make_room()

    def discard(self, entry: Entry) -> None:
        for id_, e in list(self._entries.items()):
            if e is entry:
                del self._entries[id_]
        self.shrink()


# -- llama.cpp's side: sequence 0 of a llama_cpp.Llama -------------------------------------------

def save_sequence(llama: Any, cache: PrefixCache) -> None:
    """Copy the state of the sequence `llama` holds into the cache (unless one already covers it)."""
    import llama_cpp

    n = llama.n_tokens
    if n == 0:
        return
    tokens = np.array(llama.input_ids[:n], dtype=np.intc)
    if cache.covers(tokens):
        return
    size = int(llama_cpp.llama_state_seq_get_size(llama.ctx, 0))
    if size == 0 or size > cache.budget_bytes:
        cache.stats.refused += 1
        return
    cache.make_room(size)  # evict first: the copy must not take the process past the budget
    # Each state in its own anonymous mapping: an evicted one goes back to the system at once
    # (from the heap, freed blocks of this size often stay with the process).
    buf = mmap.mmap(-1, size)
    view = (ctypes.c_uint8 * size).from_buffer(buf)
    written = int(llama_cpp.llama_state_seq_get_data(llama.ctx, view, size, 0))
    del view
    if written == 0:
        cache.stats.failures += 1
        buf.close()
        return
    cache.put(tokens, buf, written)


def held_prefix(llama: Any, prompt: Any) -> int:
    """How many leading tokens of `prompt` the context of `llama` holds now."""
    return common_prefix(np.asarray(llama.input_ids[: llama.n_tokens]),
                         np.asarray(prompt, dtype=np.intc))


def restore_best(llama: Any, cache: PrefixCache, prompt: list[int]) -> int:
    """Put the cached sequence sharing most of `prompt` into `llama` when it shares more than
    what `llama` holds now; return how many prompt tokens the context now holds."""
    import llama_cpp

    want = np.asarray(prompt, dtype=np.intc)
    live = held_prefix(llama, want)
    entry, n = cache.best(want)
    if entry is None or n <= live:
        return live
    llama._ctx.kv_cache_seq_rm(-1, 0, -1)
    view = (ctypes.c_uint8 * entry.size).from_buffer(entry.state)
    loaded = int(llama_cpp.llama_state_seq_set_data(llama.ctx, view, entry.size, 0))
    del view
    if loaded == 0:
        cache.stats.failures += 1
        cache.discard(entry)
        llama.n_tokens = 0
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        return 0
    size = len(entry.tokens)
    llama.input_ids[:size] = entry.tokens
    llama.n_tokens = size
    llama._requires_eval = True  # the logits in the context are not this sequence's
    cache.stats.restores += 1
    cache.stats.restored_tokens += n
    return n


def reused_tokens(held: int, prompt_len: int) -> int:
    """Prompt tokens llama-cpp-python will not evaluate when its context holds `held` of them:
    at least the prompt's last token is evaluated again, for its logits."""
    return max(0, min(held, prompt_len - 1))
