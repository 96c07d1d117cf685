"""Request bodies of the OpenAI Responses API (``POST /v1/responses``), validated by pydantic
straight from the JSON bytes, strictly for the parameters Stellwerk carries out.

Only what maps onto a chat request is accepted: text and images as input, function tools and
their calls and outputs, ``text.format`` for JSON answers. OpenAI's hosted tools (web search,
file search, code interpreter ...), file inputs and reasoning items have no counterpart on an
organisation's model servers and are refused with a 400 naming them. Other top-level
parameters of the Responses API (``metadata``, ``reasoning``, ``include``, ``truncation`` ...)
are accepted and not passed on: they configure OpenAI's service, not the model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from stellwerk.errors import shown
from stellwerk.gateway.body import ParamProblem
from stellwerk.gateway.call_answers import CallAnswers
from stellwerk.gateway.openai_schema import only_when_streamed


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


class InputText(_Open):
    type: Literal["input_text"]
    text: str


class InputImage(_Open):
    type: Literal["input_image"]
    image_url: str = Field(min_length=1)
    detail: Literal["auto", "low", "high", "original"] | None = None


class OutputText(_Open):
    """Text of an earlier answer, given back as input (``output_text``)."""

    type: Literal["output_text"]
    text: str


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
    """A message item; ``type`` may be left out (OpenAI's "easy input message")."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: MessageContent


class FunctionCallItem(_Open):
    """A call of a function tool the model made in an earlier answer."""

    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str


class FunctionCallOutputItem(_Open):
    """The caller's result of a function call, answered to the model."""

    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1)
    output: ToolOutput


def _item_type(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type", "message")
        return kind if isinstance(kind, str) else None
    return getattr(value, "type", None)


#: One input item, told apart by its ``type`` (``message`` when left out).
InputItem = Annotated[
    Annotated[Message, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")],
    Discriminator(
        _item_type,
        custom_error_type="unsupported_item",
        custom_error_message=(
            "input items are 'message', 'function_call' or 'function_call_output'"
            " (no hosted tools, files or reasoning items here)"
        ),
    ),
]


class FunctionTool(_Open):
    """A function the model may call; the only kind of tool Stellwerk's models run."""

    type: Literal["function"]
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class HostedTool(_Open):
    """One of OpenAI's hosted tools (``web_search``, ``file_search``, ``code_interpreter`` ...):
    refused by its name, which OpenAI's service runs and an organisation's model servers do not."""

    type: str

    @model_validator(mode="after")
    def _refused(self) -> HostedTool:
        raise ParamProblem(
            "type",
            f"the hosted tool {shown(self.type)} is not available here (OpenAI's service runs"
            ' it, not this gateway\'s models); only function tools ({"type": "function",'
            ' "name": ...}) are, which your code runs',
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
    type: Literal["json_schema"]
    name: str = Field(min_length=1)
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None


class TextConfig(_Open):
    format: (
        Annotated[TextFormat | JsonObjectFormat | TextJsonSchemaFormat, Field(discriminator="type")]
        | None
    ) = None


class ResponseRequest(BaseModel):
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

    @model_validator(mode="after")
    def _stream_options_need_stream(self) -> ResponseRequest:
        only_when_streamed(self.stream, (self.model_extra or {}).get("stream_options"))
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
