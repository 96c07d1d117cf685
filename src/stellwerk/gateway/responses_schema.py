"""Request bodies of the OpenAI Responses API (``POST /v1/responses``), validated by pydantic
straight from the JSON bytes, strictly for the parameters Stellwerk carries out.

Only what maps onto a chat request is accepted: text and images as input, function tools and
their calls and outputs, ``text.format`` for JSON answers. OpenAI's hosted tools (web search,
file search, code interpreter ...), file inputs and item references have no counterpart on an
organisation's model servers and are refused with a 400 naming them. Other top-level
parameters of the Responses API (``metadata``, ``reasoning``, ``include``, ``truncation`` ...)
are accepted, typed, and not passed on: they configure OpenAI's service, not the model.

Every key OpenAI's Responses API defines for the objects served here is known, those of an
earlier answer's items that a client sends back too (``id``, ``status``, ``phase``, an
``output_text``'s ``annotations`` and ``logprobs``): the translation reads what the model needs
and leaves the rest. A key inside an object that the API does not define is kept as an extra,
to be refused naming its place (``input[1].content[0].foo``) or passed where an operator allows
it (``stellwerk.gateway.nested_params``, ``responses_wire``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from stellwerk.backends.thinking import ReasoningEffort
from stellwerk.errors import shown
from stellwerk.gateway.body import ParamProblem
from stellwerk.gateway.call_answers import CallAnswers
from stellwerk.gateway.nested_params import Keyed
from stellwerk.gateway.openai_schema import PromptCacheOptions, only_when_streamed
from stellwerk.gateway.schema_shape import schema_problem
from stellwerk.gateway.unserved import HOSTED


class _Open(Keyed):
    """Its extra keys are kept to be named by ``nested_params`` (refused, or passed where an
    operator allows them)."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


#: an item's ``status``, as an earlier answer's items carry it back
Status = Literal["in_progress", "completed", "incomplete"] | None
#: OpenAI's prompt-caching markup of a part: no model server here reads it (not passed on)
CacheBreakpoint = dict[str, Any] | None


class InputText(_Open):
    type: Literal["input_text"]
    text: str
    prompt_cache_breakpoint: CacheBreakpoint = None


class InputImage(_Open):
    type: Literal["input_image"]
    image_url: str | None = Field(default=None, min_length=1)
    detail: Literal["auto", "low", "high", "original"] | None = None
    file_id: str | None = None
    prompt_cache_breakpoint: CacheBreakpoint = None

    @model_validator(mode="after")
    def _image_given(self) -> InputImage:
        if self.file_id is not None:
            raise ParamProblem(
                "file_id",
                "file_id is not supported: uploaded files are not kept here; send the image"
                " itself as image_url (a data: URL)",
            )
        if self.image_url is None:
            raise ParamProblem("image_url", "an input_image needs image_url (a data: URL)")
        return self


class OutputText(_Open):
    """Text of an earlier answer, given back as input (``output_text``); its annotations and
    tokens' log probabilities are taken as the answer gave them, and not passed on."""

    type: Literal["output_text"]
    text: str
    annotations: list[dict[str, Any]] | None = None
    logprobs: list[dict[str, Any]] | None = None


class Refusal(_Open):
    type: Literal["refusal"]
    refusal: str


ContentPart = Annotated[InputText | InputImage | OutputText | Refusal, Field(discriminator="type")]


def _text_or_list(value: Any) -> str | None:
    if isinstance(value, str):
        return "text"
    return "list" if isinstance(value, list) else None


#: A string or a list: a wrong list item is reported as such, not first as "not a string"
#: (as a plain union would).
TEXT_OR_LIST = Discriminator(
    _text_or_list,
    custom_error_type="text_or_list",
    custom_error_message="must be a string or a list",
)
_Text = Annotated[str, Tag("text")]
_NonEmptyText = Annotated[str, Field(min_length=1), Tag("text")]

MessageContent = Annotated[_Text | Annotated[list[ContentPart], Tag("list")], TEXT_OR_LIST]
ToolOutput = Annotated[_Text | Annotated[list["InputText"], Tag("list")], TEXT_OR_LIST]


class Message(_Open):
    """A message item; ``type`` may be left out (OpenAI's "easy input message"). ``id``,
    ``status`` and ``phase`` are an earlier answer's, sent back with it (not passed on)."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: MessageContent
    id: str | None = None
    status: Status = None
    phase: Literal["commentary", "final_answer"] | None = None


class FunctionCallItem(_Open):
    """A call of a function tool the model made in an earlier answer (its ``id``, ``status``,
    ``caller`` and ``namespace`` as the answer gave them: not passed on)."""

    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str
    id: str | None = None
    status: Status = None
    caller: dict[str, Any] | None = None
    namespace: str | None = None


class FunctionCallOutputItem(_Open):
    """The caller's result of a function call, answered to the model (``id``, ``status``,
    ``name``, ``caller`` and ``namespace``: not passed on)."""

    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1)
    output: ToolOutput
    id: str | None = None
    status: Status = None
    name: str | None = None
    caller: dict[str, Any] | None = None
    namespace: str | None = None


class ReasoningText(_Open):
    type: Literal["reasoning_text"]
    text: str


class SummaryText(_Open):
    type: Literal["summary_text"]
    text: str


class ReasoningItem(_Open):
    """The model's reasoning of an earlier answer, sent back with it: its text (``content``)
    becomes the ``reasoning_content`` of the assistant message after it, as chat passes it on
    (``responses_wire``); its summary and OpenAI's ``encrypted_content`` are taken, not passed
    on (no model here reads them)."""

    type: Literal["reasoning"]
    id: str | None = None
    summary: list[SummaryText] | None = None
    content: list[ReasoningText] | None = None
    encrypted_content: str | None = None
    status: Status = None


def _item_type(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type", "message")
        return kind if isinstance(kind, str) else None
    return getattr(value, "type", None)


#: One input item, told apart by its ``type`` (``message`` when left out).
InputItem = Annotated[
    Annotated[Message, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[ReasoningItem, Tag("reasoning")],
    Discriminator(
        _item_type,
        custom_error_type="unsupported_item",
        custom_error_message=(
            "input items are 'message', 'function_call', 'function_call_output' or"
            " 'reasoning' (no hosted tools, files or item references here)"
        ),
    ),
]


class FunctionTool(_Open):
    """A function the model may call; the only kind of tool Stellwerk's models run
    (``output_schema``, ``defer_loading`` and ``allowed_callers`` concern OpenAI's tool search
    and code calls: taken, not passed on)."""

    type: Literal["function"]
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    output_schema: dict[str, Any] | None = None
    defer_loading: bool = False  # not nullable in OpenAI's schema
    allowed_callers: list[Literal["direct", "programmatic"]] | None = None


class HostedTool(_Open):
    """One of OpenAI's hosted tools (``web_search``, ``file_search``, ``code_interpreter`` ...):
    refused by its name, which OpenAI's service runs and an organisation's model servers do not."""

    type: str

    @model_validator(mode="after")
    def _refused(self) -> HostedTool:
        raise ParamProblem(
            "type",
            f"the hosted tool {shown(self.type)} is not available here ({HOSTED}); only"
            ' function tools ({"type": "function", "name": ...}) are, which your code runs',
        )


def _tool_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else None
    return "hosted" if isinstance(kind, str) and kind != "function" else "function"


#: A tool: a function, or a hosted tool refused by name (a tool without a ``type`` is told
#: what a function tool needs).
ToolItem = Annotated[
    Annotated[FunctionTool, Tag("function")] | Annotated[HostedTool, Tag("hosted")],
    Discriminator(_tool_kind),
]


class FunctionChoice(_Open):
    type: Literal["function"]
    name: str = Field(min_length=1)


class TextFormat(_Open):
    type: Literal["text"]


class JsonObjectFormat(_Open):
    type: Literal["json_object"]


class TextJsonSchemaFormat(_Open):
    # ``text.format`` of type ``json_schema``: its ``schema`` is checked as a JSON schema
    # (``schema_shape``)
    type: Literal["json_schema"]
    name: str = Field(min_length=1)
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema_is_one(self) -> TextJsonSchemaFormat:
        problem = schema_problem(self.schema_, "schema")
        if problem is not None:
            raise ParamProblem("schema", str(problem))
        return self


class TextConfig(_Open):
    format: (
        Annotated[TextFormat | JsonObjectFormat | TextJsonSchemaFormat, Field(discriminator="type")]
        | None
    ) = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(_Open):
    """``reasoning``: how OpenAI's reasoning models think, and what of it they summarise;
    ``effort`` is chat's ``reasoning_effort`` (``responses_wire``), the rest is taken and not
    passed on."""

    effort: ReasoningEffort | None = None
    summary: str | None = None
    generate_summary: str | None = None
    context: str | None = None
    mode: str | None = None


class ResponseStreamOptions(_Open):
    include_obfuscation: bool | None = None


#: what a parameter of OpenAI's service, taken and not passed on, says in ``/openapi.json``
_NOT_PASSED = "accepted, not passed on"


class ResponseRequest(Keyed):
    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)

    model: str = Field(min_length=1)
    input: Annotated[
        _NonEmptyText | Annotated[list[InputItem], Field(min_length=1), Tag("list")],
        TEXT_OR_LIST,
    ]
    instructions: str | None = None
    stream: bool = False
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    tools: list[ToolItem] | None = None
    tool_choice: Literal["none", "auto", "required"] | FunctionChoice | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    # what ``include`` names is checked by the translation (``responses_wire``), and
    # ``top_logprobs`` as chat's; ``background: true`` is refused there
    include: list[str] | None = Field(default=None, description=_NOT_PASSED)
    top_logprobs: int | None = Field(default=None, ge=0, le=20, description=_NOT_PASSED)
    background: bool | None = Field(default=None, description=_NOT_PASSED)
    reasoning: ReasoningConfig | None = Field(
        default=None,
        description="effort: chat's reasoning_effort (the thinking capability); the rest "
        + _NOT_PASSED,
    )
    stream_options: ResponseStreamOptions | None = Field(default=None, description=_NOT_PASSED)
    truncation: Literal["auto", "disabled"] | None = Field(default=None, description=_NOT_PASSED)
    max_tool_calls: int | None = Field(default=None, description=_NOT_PASSED)
    service_tier: str | None = Field(default=None, description=_NOT_PASSED)
    safety_identifier: str | None = Field(default=None, description=_NOT_PASSED)
    prompt_cache_key: str | None = Field(default=None, description=_NOT_PASSED)
    prompt_cache_retention: Literal["in_memory", "24h"] | None = Field(
        default=None, description=_NOT_PASSED
    )
    prompt_cache_options: PromptCacheOptions | None = Field(default=None, description=_NOT_PASSED)

    @model_validator(mode="after")
    def _stream_options_need_stream(self) -> ResponseRequest:
        only_when_streamed(self.stream, self.stream_options)
        return self

    @model_validator(mode="after")
    def _outputs_answer_calls(self) -> ResponseRequest:
        calls = CallAnswers()
        for index, item in enumerate(self.input if isinstance(self.input, list) else ()):
            if isinstance(item, FunctionCallItem):
                calls.called([item.call_id])
            elif isinstance(item, FunctionCallOutputItem):
                calls.answered(item.call_id, f"input.{index}", "call_id")
        return self
