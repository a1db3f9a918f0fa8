"""The model layer: one async interface to every backend, with cache, retries and accounting."""

from scai.llm.cache import ResponseCache, cache_key
from scai.llm.client import CallRecord, ChatRequest, ClientStats, ModelClient, run_sync
from scai.llm.spec import ModelSettings, ModelSpec, Price
from scai.llm.types import Completion, GenerationParams, Message, Usage

__all__ = [
    "CallRecord", "ChatRequest", "ClientStats", "Completion", "GenerationParams", "Message",
    "ModelClient", "ModelSettings", "ModelSpec", "Price", "ResponseCache", "Usage", "cache_key",
    "run_sync",
]
