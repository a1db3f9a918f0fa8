"""`--model scai/<scai model string>`: Inspect tasks answered by scai's ModelClient.

    inspect eval scai/reflectivity --model scai/local
    inspect eval scai/cai_helpful --model scai/local:gemma-270m -M concurrency=2
    inspect eval inspect_evals/gsm8k --model "scai/openai-compat:http://127.0.0.1:8080/v1#m"

Everything after `scai/` is a scai model string (`scai models`); `-M name=value` sets a
`ModelSettings` field (concurrency, n_ctx, parse_retries, ...) and `-M cache=false` turns scai's
response cache off. Seeded calls are cached as everywhere in scai, under the same key a scai
run uses, so a `scai bench run` and an `inspect eval` of the same items share their answers.
"""

from __future__ import annotations

from typing import Any

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelCall,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from scai.errors import ParseFailure
from scai.inspect.errors import as_prerequisite
from scai.inspect.params import scai_params
from scai.llm import Completion, Message, ModelClient, ModelSettings

# scai's finish reasons (llama.cpp, OpenAI-compatible servers, transformers) in Inspect's words.
_STOP_REASONS = {"stop": "stop", "length": "max_tokens", "content_filter": "content_filter"}


def scai_messages(messages: list[ChatMessage]) -> list[Message]:
    """Inspect's chat messages as scai's (text only; a tool message is refused)."""
    out = []
    for m in messages:
        if m.role == "tool":
            raise PrerequisiteError("scai models do not call tools: use a task without tools")
        out.append(Message(role=m.role, content=m.text))
    return out


def model_output(model: str, completion: Completion) -> ModelOutput:
    """A scai Completion as Inspect's ModelOutput, with its token usage."""
    out = ModelOutput.from_content(
        model=model, content=completion.text,
        stop_reason=_STOP_REASONS.get(completion.finish_reason, "unknown"))  # type: ignore[arg-type]
    u = completion.usage
    out.usage = ModelUsage(input_tokens=u.prompt_tokens, output_tokens=u.completion_tokens,
                           total_tokens=u.total_tokens)
    return out


class ScaiModel(ModelAPI):
    """An Inspect model API over one scai ModelClient (its cache, retries, schema re-asks)."""

    def __init__(self, model_name: str, base_url: str | None = None,
                 api_key: str | None = None, config: GenerateConfig = GenerateConfig(),
                 **model_args: Any) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        settings = {k: v for k, v in model_args.items() if k != "cache"}
        # A bad model string or -M argument, a missing extra (local:gemma-270m without `gemma`):
        # one line from Inspect, as from scai's own CLI.
        with as_prerequisite(f"scai/{model_name}"):
            self.settings = ModelSettings(model=model_name, **settings)
            self.client = ModelClient(self.settings, cache=bool(model_args.get("cache", True)))

    async def generate(self, input: list[ChatMessage], tools: list[ToolInfo],
                       tool_choice: ToolChoice, config: GenerateConfig,
                       ) -> tuple[ModelOutput | Exception, ModelCall]:
        if tools:
            raise PrerequisiteError("scai models do not call tools: use a task without tools")
        messages = scai_messages(input)
        params = scai_params(config)
        request = {"model": self.settings.model, "messages": [m.model_dump() for m in messages],
                   "params": params.model_dump(mode="json")}
        try:
            done = await self.client.complete(messages, params)
        except ParseFailure as exc:
            # As in `scai bench run`: a reply that never met its schema is still the answer
            # (scored as a parse failure), not an error that drops the sample.
            done = Completion(text=exc.raw_text, finish_reason="stop", model=self.settings.model,
                              attempts=exc.attempts)
        call = ModelCall.create(request, {"text": done.text, "cached": done.cached,
                                          "attempts": done.attempts,
                                          "finish_reason": done.finish_reason})
        return model_output(self.settings.model, done), call

    def max_connections(self) -> int:
        return self.settings.concurrency

    def max_tokens(self) -> int | None:
        return scai_params(GenerateConfig()).max_tokens

    def connection_key(self) -> str:
        return self.settings.model


@modelapi(name="scai")
def scai() -> type[ModelAPI]:
    """`scai/<model string>`: any model scai can run, through scai's client and cache."""
    return ScaiModel
