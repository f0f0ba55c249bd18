"""One handler per endpoint: read the request, decide the answer. Timing and faults are not theirs.

Each `answer()` gets the parsed JSON body (None for a GET) and the ASGI scope,
and returns an `Answer` or raises InvalidRequest. Whatever the body holds, it
raises nothing else: the request checks see to that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from starlette.types import Scope

from ..errors import InvalidRequest
from .chat_reply import ChatChunks, chat_completion
from .chat_request import parse_chat_request
from .common import planned_tokens
from .completions import CompletionChunks, parse_completion_request, text_completion
from .embeddings import embedding_list, parse_embedding_request
from .models import model_object, models_list
from .output import write_outputs
from .reply import Answer
from .responses_reply import ResponseEvents, ResponseObject
from .responses_request import parse_responses_request
from .usage import completion_usage

if TYPE_CHECKING:
    from ..state import SimulatorState

__all__ = [
    "ChatCompletionsHandler",
    "CompletionsHandler",
    "EmbeddingsHandler",
    "Handler",
    "ModelHandler",
    "ModelsHandler",
    "ResponseRetrieveHandler",
    "ResponsesHandler",
]

Payload = dict[str, Any]


class Handler(Protocol):
    api: str
    reads_body: bool

    def answer(self, payload: Payload | None, scope: Scope, state: SimulatorState) -> Answer: ...


class ChatCompletionsHandler:
    api = "chat.completions"
    reads_body = True

    def answer(self, payload: Payload | None, scope: Scope, state: SimulatorState) -> Answer:
        request = parse_chat_request(payload or {})
        planned_tokens(state.scenario.output_tokens, request.max_tokens, request.n)
        calls = request.tools.calls(has_results=request.has_tool_results) if request.tools else []
        outputs = write_outputs(
            state.content_rng,
            choices=request.n,
            tokens=state.scenario.output_tokens,
            limit=request.max_tokens,
            text_format=request.text_format,
            calls=calls,
        )
        tokens = outputs[0].tokens
        usage = completion_usage(request.prompt_tokens, tokens * request.n)
        fingerprint = state.system_fingerprint

        def body() -> Any:
            return chat_completion(
                model=request.model, outputs=outputs, usage=usage, system_fingerprint=fingerprint
            )

        def script() -> ChatChunks:
            return ChatChunks(
                model=request.model,
                outputs=outputs,
                usage=usage,
                system_fingerprint=fingerprint,
                include_usage=request.include_usage,
            )

        return Answer(
            api=self.api,
            wait="generate",
            tokens=tokens,
            body=body,
            script=script if request.stream else None,
            model=request.model,
            n=request.n,
            usage_tokens=usage["total_tokens"],
            content_kind=outputs[0].kind,
        )


class CompletionsHandler:
    api = "completions"
    reads_body = True

    def answer(self, payload: Payload | None, scope: Scope, state: SimulatorState) -> Answer:
        request = parse_completion_request(payload or {})
        planned_tokens(state.scenario.output_tokens, request.max_tokens, request.choices)
        outputs = write_outputs(
            state.content_rng,
            choices=request.choices,
            tokens=state.scenario.output_tokens,
            limit=request.max_tokens,
            text_format=None,
            calls=[],
        )
        tokens = outputs[0].tokens
        usage = completion_usage(request.prompt_tokens, tokens * request.choices, details=False)
        fingerprint = state.system_fingerprint

        def body() -> Any:
            return text_completion(
                model=request.model, outputs=outputs, usage=usage, system_fingerprint=fingerprint
            )

        def script() -> CompletionChunks:
            return CompletionChunks(
                model=request.model,
                outputs=outputs,
                usage=usage,
                system_fingerprint=fingerprint,
                include_usage=request.include_usage,
            )

        return Answer(
            api=self.api,
            wait="generate",
            tokens=tokens,
            body=body,
            script=script if request.stream else None,
            model=request.model,
            n=request.choices,
            usage_tokens=usage["total_tokens"],
            content_kind="text",
        )


class ResponsesHandler:
    api = "responses"
    reads_body = True

    def answer(self, payload: Payload | None, scope: Scope, state: SimulatorState) -> Answer:
        request = parse_responses_request(payload or {})
        previous = request.previous_response_id
        if previous is not None and previous not in state.store:
            raise InvalidRequest(
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        planned_tokens(state.scenario.output_tokens, request.max_output_tokens, 1)
        calls = request.tools.calls(has_results=request.has_tool_results) if request.tools else []
        (output,) = write_outputs(
            state.content_rng,
            choices=1,
            tokens=state.scenario.output_tokens,
            limit=request.max_output_tokens,
            text_format=request.text_format,
            calls=calls,
        )
        response = ResponseObject(request, output)
        common: dict[str, Any] = {
            "api": self.api,
            "tokens": output.tokens,
            "model": request.model,
            "usage_tokens": response.usage["total_tokens"],
            "content_kind": output.kind,
        }
        if request.background and not request.stream:
            # Acknowledged at once; the generation runs on, for as long as a plain reply would take.
            generation_ms = state.latency.plan(stream=False, tokens=output.tokens).wait_ms
            return Answer(
                wait="none",
                body=lambda: response.snapshot("queued"),
                on_delivered=lambda: state.store.put(response, ready_in_s=generation_ms / 1000.0),
                background_ms=generation_ms,
                **common,
            )
        return Answer(
            wait="generate",
            body=response.final,
            script=(lambda: ResponseEvents(response)) if request.stream else None,
            on_delivered=(lambda: state.store.put(response)) if request.store or request.background else None,
            **common,
        )


class ResponseRetrieveHandler:
    api = "responses"
    reads_body = False

    def answer(self, payload: Payload | None, scope: Scope, state: SimulatorState) -> Answer:
        response_id = str(scope.get("path_params", {}).get("response_id", ""))
        found = state.store.get(response_id)
        if found is None:
            raise InvalidRequest(f"Response with id '{response_id}' not found.", status=404)
        model = found.get("model")
        # Looked up again when sent: a background response may have completed during the wait.
        return Answer(
            api=self.api,
            wait="lookup",
            tokens=0,
            body=lambda: state.store.get(response_id) or found,
            model=model if isinstance(model, str) else None,
        )


class EmbeddingsHandler:
    api = "embeddings"
    reads_body = True

    def answer(self, payload: Payload | None, scope: Scope, state: SimulatorState) -> Answer:
        request = parse_embedding_request(payload or {})
        seed = state.scenario.seed
        return Answer(
            api=self.api,
            wait="lookup",
            tokens=0,
            body=lambda: embedding_list(request, seed),
            model=request.model,
            usage_tokens=request.prompt_tokens,
            content_kind="embedding",
        )


class ModelsHandler:
    api = "models"
    reads_body = False

    def answer(self, payload: Payload | None, scope: Scope, state: SimulatorState) -> Answer:
        return Answer(api=self.api, wait="lookup", tokens=0, body=models_list)


class ModelHandler:
    api = "models"
    reads_body = False

    def answer(self, payload: Payload | None, scope: Scope, state: SimulatorState) -> Answer:
        model_id = str(scope.get("path_params", {}).get("model", ""))
        model = model_object(model_id)
        return Answer(api=self.api, wait="lookup", tokens=0, body=lambda: model, model=model_id)
