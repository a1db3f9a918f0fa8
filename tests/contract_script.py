"""A scripted model for Contract tests: answers each structured step by its schema, exactly."""

from __future__ import annotations

import asyncio
import json
import re

from scai.llm.backend import Backend
from scai.llm.types import GenerationParams, Message, RawCompletion


class ContractScript(Backend):
    identity = "scripted:contract"

    def __init__(self, *, offer_share: float = 0.5, principles: list[str] | None = None,
                 bad_offers: bool = False, bad_ratings: bool = False, delay: float = 0.0,
                 rating: int = 7):
        self.offer_share = offer_share
        self.principles = list(principles or [])
        self.bad_offers = bad_offers  # every offer fails its schema
        self.bad_ratings = bad_ratings  # every rating fails its schema
        self.delay = delay
        self.rating = rating
        self.calls: list[tuple[list[Message], GenerationParams]] = []

    def meta_prompts(self) -> list[str]:
        return [m[-1].content for m, p in self.calls
                if p.json_schema and "critique" in p.json_schema["properties"]]

    async def generate(self, messages: list[Message], params: GenerationParams) -> RawCompletion:
        self.calls.append((messages, params))
        if self.delay:
            await asyncio.sleep(self.delay)
        return RawCompletion(text=self._reply(messages, params), prompt_tokens=10,
                             completion_tokens=5)

    def _reply(self, messages: list[Message], params: GenerationParams) -> str:
        schema = params.json_schema
        if schema is None:
            return "Here is some help for you."
        props = schema["properties"]
        if "offer" in props:
            if self.bad_offers:
                return '{"offer": "lots"'
            top = props["offer"]["maximum"]
            reply = {"reason": "scripted"} if "reason" in props else {}
            return json.dumps({**reply, "offer": round(self.offer_share * top),
                               "message": "Here you go."})
        if "decision" in props:
            reply = {"reason": "scripted"} if "reason" in props else {}
            return json.dumps({**reply, "decision": "accept"})
        if "critique" in props:
            principle = self.principles.pop(0) if self.principles else "Be generous to others."
            return json.dumps({"critique": "The people give more.", "principle": principle})
        if "choice" in props:
            text = messages[-1].content
            a = int(re.search(r"Option A: give the partner (\d+)", text).group(1))
            b = int(re.search(r"Option B: give the partner (\d+)", text).group(1))
            if "generous" in text.split("Situation:")[0]:
                return json.dumps({"choice": "A" if a > b else "B"})
            if "selfish" in text.split("Situation:")[0]:
                return json.dumps({"choice": "A" if a < b else "B"})
            return json.dumps({"choice": "neither"})
        if "principle" in props:
            return json.dumps({"principle": "Be generous to others."})
        if "rating" in props:
            if self.bad_ratings:
                return '{"reason": "fine", "rating": "eleven"}'
            return json.dumps({"reason": "fine", "rating": str(self.rating)})
        raise AssertionError(f"unexpected schema {schema}")

    async def check(self) -> str:
        return "scripted"
