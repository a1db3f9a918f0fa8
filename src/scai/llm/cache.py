"""On-disk response cache (SQLite). A key is the hash of everything that changes a reply."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

from pydantic import BaseModel

from scai.llm.types import Completion, GenerationParams, Message
from scai.redact import redact


def default_cache_dir() -> Path:
    """`$SCAI_CACHE_DIR`, else `~/.cache/scai`."""
    env = os.environ.get("SCAI_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scai"


def cache_key(
    identity: str, messages: list[Message], params: GenerationParams, sample_index: int
) -> str:
    """sha256 over backend identity, full messages, every generation parameter and sample index."""
    payload = {
        "identity": identity,
        "messages": [m.model_dump() for m in messages],
        "params": params.model_dump(mode="json"),
        "sample_index": sample_index,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def score_cache_key(identity: str, messages: list[Message], continuations: list[str]) -> str:
    """sha256 over backend identity, full messages and the continuations scored."""
    payload = {"identity": identity, "messages": [m.model_dump() for m in messages],
               "score": list(continuations)}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class CacheStats(BaseModel):
    """What `scai cache stats` prints."""

    path: str
    entries: int
    size_bytes: int
    hits: int
    by_model: dict[str, int]


class ResponseCache:
    """Completions by request hash, shared by every run on this machine (WAL, many readers)."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_cache_dir() / "responses.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, identity TEXT NOT NULL,"
            " created_at REAL NOT NULL, hits INTEGER NOT NULL DEFAULT 0, completion TEXT NOT NULL)"
        )
        self._db.commit()

    def get(self, key: str) -> Completion | None:
        with self._lock:
            row = self._db.execute(
                "SELECT completion FROM responses WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE responses SET hits = hits + 1 WHERE key = ?", (key,))
            self._db.commit()
        return Completion.model_validate_json(row[0])

    def put(self, key: str, identity: str, completion: Completion) -> None:
        # A reply can echo a prompt that held a credential: mask it like the run store does.
        blob = json.dumps(redact(completion.model_dump(mode="json")), ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, identity, created_at, completion)"
                " VALUES (?, ?, ?, ?)",
                (key, identity, time.time(), blob),
            )
            self._db.commit()

    def stats(self) -> CacheStats:
        with self._lock:
            entries, hits = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(hits), 0) FROM responses"
            ).fetchone()
            by_model = dict(
                self._db.execute(
                    "SELECT identity, COUNT(*) FROM responses GROUP BY identity ORDER BY 2 DESC"
                ).fetchall()
            )
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))
        return CacheStats(
            path=str(self.path), entries=entries, size_bytes=size, hits=hits, by_model=by_model
        )

    def clear(self, older_than_s: float | None = None) -> int:
        """Delete entries (all, or those older than `older_than_s`); return how many."""
        with self._lock:
            if older_than_s is None:
                cur = self._db.execute("DELETE FROM responses")
            else:
                cur = self._db.execute(
                    "DELETE FROM responses WHERE created_at < ?", (time.time() - older_than_s,)
                )
            self._db.commit()
            self._db.execute("VACUUM")
            return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
