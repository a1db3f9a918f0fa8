"""The contract simulator's prompts, read from prompts.yaml beside this file."""

from __future__ import annotations

from pathlib import Path

from scai.prompts import PromptBook

PROMPTS = PromptBook.load(Path(__file__).with_name("prompts.yaml"))
