"""What Inspect loads from the `inspect_ai` entry point: importing these registers scai's
tasks (`scai/reflectivity`, `scai/cai_redteam`, `scai/cai_helpful`) and the `scai/...` models."""

from scai.inspect.cai import cai_helpful, cai_redteam
from scai.inspect.provider import scai
from scai.inspect.reflectivity import reflectivity

__all__ = ["cai_helpful", "cai_redteam", "reflectivity", "scai"]
