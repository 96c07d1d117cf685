"""Request bodies of the OpenAI API, validated by pydantic straight from the JSON bytes.

Every parameter of the published chat-completions API, and those the open-model servers add
(llama.cpp, llama-cpp-python, vLLM: ``top_k``, ``min_p``, ``repeat_penalty`` ...:
``stellwerk.gateway.sampling``), is type-checked strictly, nested parts too (messages, tool
calls, tools, ``logit_bias``, ``response_format``, ``stop``): ``"stream": "yes"``, ``"top_k":
"x"`` or ``"logit_bias": {"abc": 1}`` is a 400 naming the parameter, never passed on to make a
backend fail (llama-cpp-python answers such a request with HTTP 500, which used to count
against the backend's circuit). A parameter this version does not know, at the top or inside
a message, part, tool ..., is kept as its model's extra, and passed on only where an operator
allows it (``stellwerk.gateway.unknown_params``, ``stellwerk.gateway.nested_params``).

``ModelName`` bounds the names a request can make errors echo;
``refuse_suffix`` is the one refusal of fill-in-the-middle, for ``/v1/completions`` and Ollama's
``/api/generate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from stellwerk.backends.thinking import ReasoningEffort
from stellwerk.errors import InvalidRequest, shown
from stellwerk.gateway.body import ParamProblem
from stellwerk.gateway.call_answers import CallAnswers
from stellwerk.gateway.nested_params import Keyed
from stellwerk.gateway.sampling import SamplingParams
from stellwerk.gateway.schema_shape import schema_problem
from stellwerk.gateway.unserved import refuse_chat_unserved, refuse_unserved

#: the longest model or route name a request may name
MODEL_NAME_CHARS = 256
ModelName = Annotated[str, Field(min_length=1, max_length=MODEL_NAME_CHARS)]


class _Open(Keyed):
    """Its extra keys are kept to be named by ``nested_params`` (refused, or passed where an
    operator allows them)."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


class _Cacheable(_Open):
    """A message or content part: takes Anthropic's prompt-caching markup, ``cache_control``,
    which multi-provider clients (LiteLLM) send to every provider; no model server here reads
    it, so it is dropped (``openai_api``), as OpenAI's own ``prompt_cache_breakpoint``."""

    cache_control: dict[str, Any] | None = None


class TextPart(_Cacheable):
    type: Literal["text"]
    text: str
    prompt_cache_breakpoint: dict[str, Any] | None = None


class ImageUrl(_Open):
    url: str = Field(min_length=1)
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Cacheable):
    type: Literal["image_url"]
    image_url: ImageUrl
    prompt_cache_breakpoint: dict[str, Any] | None = None


#: content parts of OpenAI's API that no model here reads, and what to send instead
_UNSUPPORTED_PARTS = {
    "input_audio": "audio input is not supported here (the models read text and images);"
    " send the text, a transcript, instead",
    "file": "file input is not supported here; send the file's text in a text part",
}


class UnsupportedPart(_Open):
    """A content part OpenAI's API has and Stellwerk's models do not read: refused in plain
    words (pydantic's would only say that its ``type`` is no expected tag)."""

    type: Literal["input_audio", "file"]

    @model_validator(mode="after")
    def _refused(self) -> UnsupportedPart:
        raise ParamProblem("type", _UNSUPPORTED_PARTS[self.type])


def _part_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if not isinstance(kind, str):  # a list or an object as a type: no kind (a 400, not a 500)
        return None
    if kind in _UNSUPPORTED_PARTS:
        return "unsupported"  # no key of a part: the errors' place stays the part's
    return kind if kind in ("text", "image_url") else None


#: A content part, told apart by its ``type``.
ContentPart = Annotated[
    Annotated[TextPart, Tag("text")]
    | Annotated[ImagePart, Tag("image_url")]
    | Annotated[UnsupportedPart, Tag("unsupported")],
    Discriminator(
        _part_kind,
        custom_error_type="unsupported_part",
        custom_error_message="content parts are 'text' or 'image_url' here",
    ),
]


class FunctionCall(_Open):
    name: str
    arguments: str
    # the ``openai`` library's ``parse()`` helper's, sent back with its message object
    parsed_arguments: Any = None


class ToolCall(_Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall
    index: int | None = None  # a streamed call's, kept by clients that join the chunks


class SystemMessage(_Cacheable):
    role: Literal["system", "developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Cacheable):
    role: Literal["user"]
    content: str | list[ContentPart]
    name: str | None = None


class AssistantMessage(_Cacheable):
    role: Literal["assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    # the model's reasoning of an earlier answer, sent back (DeepSeek's and Kimi's APIs ask for
    # it beside tool calls; llama.cpp and vLLM read it into the chat template)
    reasoning_content: str | None = None
    # OpenAI's fields of an answer that the ``openai`` library sends back with its message
    # object (``parsed``: its ``parse()`` helper's); no model server here reads them
    # (``openai_api`` leaves them out)
    audio: dict[str, Any] | None = None
    annotations: list[dict[str, Any]] | None = None
    parsed: Any = None


class ToolMessage(_Cacheable):
    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str
    # the called function's name: OpenAI's function-calling guide sends it, and so does this
    # gateway's translation of an Ollama tool answer (``tool_name``); templates may read it
    name: str | None = None


class FunctionMessage(_Cacheable):
    role: Literal["function"]
    content: str | None
    name: str


#: A message, told apart by its ``role`` (the parts each role needs are required).
ChatMessage = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage,
    Field(discriminator="role"),
]


class FunctionDefinition(_Open):
    name: str = Field(min_length=1)
    description: str | None = None
    # Optional in OpenAI's API (no parameters); servers such as llama.cpp require it.
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class Tool(_Open):
    type: Literal["function"]
    function: FunctionDefinition


def refuse_unshaped_tools(
    tools: Sequence[Tool] | None, functions: Sequence[FunctionDefinition] | None = None
) -> None:
    """Refuse a tool whose ``parameters`` is no JSON schema (``schema_shape``), naming the place
    in it (``tools[0].function.parameters.properties.x.type``, as a backend's refusal of a part
    of it is named: ``stellwerk.backends.dialects``); the older ``functions`` alike. Else the
    model servers would make no grammar of it, silently, and the call's arguments follow none."""
    defined = [(f"tools[{i}].function", tool.function) for i, tool in enumerate(tools or ())]
    defined += [(f"functions[{i}]", function) for i, function in enumerate(functions or ())]
    for where, function in defined:
        problem = schema_problem(function.parameters, f"{where}.parameters")
        if problem is not None:
            raise ParamProblem(problem.place, str(problem))


class NamedFunction(BaseModel):
    """``{"name": ...}`` of ``function_call`` and ``tool_choice``: nothing else. The request's
    validators refuse another key, in plain words (``_beside``; pydantic's own would name the
    member of the union it tried), before this model sees it."""

    model_config = ConfigDict(strict=True)

    name: str


def _beside(value: object, keys: tuple[str, ...]) -> str:
    """The keys of ``value`` (an object) other than ``keys``, quoted, or ''."""
    if not isinstance(value, dict):
        return ""
    return ", ".join(shown(key) for key in value if key not in keys)


def _unique_names(param: str, names: list[str], each: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ParamProblem(
                param, f"{param} name {shown(name)} twice; give each {each} its own name"
            )
        seen.add(name)


class NamedToolChoice(BaseModel):
    """``{"type": "function", "function": {"name": ...}}``: nothing else, as ``NamedFunction``
    (the request's validators refuse another key)."""

    model_config = ConfigDict(strict=True)

    type: Literal["function"]
    function: NamedFunction


class JsonSchemaFormat(_Open):
    """``response_format.json_schema``; its ``schema`` stays an extra field (the name would
    shadow pydantic's own) and must be an object that is a JSON schema (``schema_shape``)."""

    known_extras = frozenset({"schema"})

    name: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = None
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema_is_an_object(self) -> JsonSchemaFormat:
        schema = (self.model_extra or {}).get("schema")
        if schema is not None and not isinstance(schema, dict):
            raise ParamProblem("schema", "schema must be a JSON object")
        problem = None if schema is None else schema_problem(schema, "schema")
        if problem is not None:
            raise ParamProblem("schema", str(problem))
        return self


class ResponseFormat(_Open):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _json_schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ParamProblem("json_schema", "type 'json_schema' needs json_schema")
        return self


class StreamOptions(_Open):
    include_usage: bool = False
    include_obfuscation: bool | None = None


def only_when_streamed(stream: bool, stream_options: object) -> None:
    """Refuse ``stream_options`` on a request that does not stream, as OpenAI does: options of
    a stream that is not sent (``include_usage``: a usage chunk) would silently do nothing."""
    if stream_options is not None and not stream:
        raise ParamProblem(
            "stream_options",
            "stream_options is only allowed when stream is true; leave it out, or stream",
        )


def alternatives_need_logprobs(
    logprobs: bool | None, top_logprobs: int | None, *, zero_is_default: bool = False
) -> None:
    """Refuse ``top_logprobs`` without ``logprobs: true``, as OpenAI does: alternatives of
    tokens whose log probabilities are not sent would silently be left out.
    ``zero_is_default``: a 0 asks for nothing and passes (Ollama's default, which clients that
    send every field send)."""
    if top_logprobs == 0 and zero_is_default:
        return
    if top_logprobs is not None and logprobs is not True:
        raise ParamProblem(
            "top_logprobs",
            "top_logprobs is only allowed when logprobs is true; send logprobs: true, or leave"
            " top_logprobs out",
        )


def refuse_suffix(suffix: str | None, asked: str) -> None:
    """Refuse a ``suffix`` (the text after the completion: fill-in-the-middle), which no
    backend honours where the gateway sends a completion (llama.cpp's ``llama-server`` fails on
    it, llama-cpp-python's server garbles the prompt): else the model would answer without
    seeing the text after the gap. ``asked``: what the endpoint calls it. An empty one is
    absent, as OpenAI and Ollama read it."""
    if suffix:
        raise InvalidRequest(
            f"suffix: {asked} is not supported (the model would answer without seeing the text"
            " after the gap); leave out suffix, or put that text into the prompt",
            param="suffix",
        )


class PromptCacheOptions(_Open):
    """OpenAI's prompt-cache options; the model servers here keep their own cache (not passed
    on)."""

    ttl: str | None = None
    mode: str | None = None


class AudioOutput(_Open):
    voice: str | dict[str, Any]
    format: str


class Prediction(_Open):
    type: Literal["content"]
    content: str | list[TextPart]


class ChatCompletionRequest(SamplingParams, Keyed):
    model: ModelName
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_completion_tokens: int | None = Field(default=None, ge=1)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    functions: list[FunctionDefinition] | None = None
    function_call: Literal["none", "auto"] | NamedFunction | None = None
    response_format: ResponseFormat | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    metadata: dict[str, str] | None = None
    modalities: list[Literal["text", "audio"]] | None = Field(
        default=None, description='refused with "audio": the models here write text'
    )
    audio: AudioOutput | None = Field(default=None, description="refused: no audio output here")
    prediction: Prediction | None = None
    reasoning_effort: ReasoningEffort | None = None
    verbosity: str | None = None
    service_tier: str | None = None
    store: bool | None = Field(default=None, description="true refused: nothing is stored here")
    prompt_cache_key: str | None = None
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    prompt_cache_options: PromptCacheOptions | None = None
    safety_identifier: str | None = None
    web_search_options: dict[str, Any] | None = Field(
        default=None, description="refused: OpenAI's service runs web search, not these models"
    )
    moderation: dict[str, Any] | None = Field(
        default=None, description="refused: no moderation model runs here"
    )

    @model_validator(mode="after")
    def _stream_options_need_stream(self) -> ChatCompletionRequest:
        only_when_streamed(self.stream, self.stream_options)
        return self

    @model_validator(mode="after")
    def _no_unserved(self) -> ChatCompletionRequest:
        """What only OpenAI's service does is refused by name (``unserved``)."""
        refuse_unserved({"moderation": self.moderation})
        refuse_chat_unserved(self.web_search_options, self.modalities, self.audio, self.store)
        return self

    @model_validator(mode="after")
    def _top_logprobs_need_logprobs(self) -> ChatCompletionRequest:
        alternatives_need_logprobs(self.logprobs, self.top_logprobs)
        return self

    @model_validator(mode="after")
    def _tool_messages_answer_calls(self) -> ChatCompletionRequest:
        calls = CallAnswers()
        for index, message in enumerate(self.messages):
            if isinstance(message, AssistantMessage):
                calls.called(call.id for call in message.tool_calls or ())
            elif isinstance(message, ToolMessage):
                calls.answered(message.tool_call_id, f"messages.{index}", "tool_call_id")
        return self

    @field_validator("function_call", mode="before")
    @classmethod
    def _function_call_only_a_name(cls, value: object) -> object:
        if beside := _beside(value, ("name",)):
            raise ValueError(f"takes only name, not {beside}")
        return value

    @field_validator("tool_choice", mode="before")
    @classmethod
    def _tool_choice_only_a_name(cls, value: object) -> object:
        if not isinstance(value, dict) or value.get("type") != "function":
            return value  # pydantic names what is wrong with it
        if beside := _beside(value, ("type", "function")):
            raise ValueError(f"takes only type and function, not {beside}")
        if beside := _beside(value.get("function"), ("name",)):
            raise ParamProblem("function", f"function takes only name, not {beside}")
        return value

    @model_validator(mode="after")
    def _functions_unambiguous(self) -> ChatCompletionRequest:
        """``functions`` or ``tools``, not both; neither names a function twice, nor is empty
        (which definition a call meant would be a guess; OpenAI refuses an empty one too)."""
        if self.functions is not None and self.tools is not None:
            raise ParamProblem("functions", "send tools or the older functions, not both")
        for param, given in (("functions", self.functions), ("tools", self.tools)):
            if given == []:
                raise ParamProblem(param, f"{param} is empty; leave it out")
        _unique_names("functions", [f.name for f in self.functions or ()], "function")
        _unique_names("tools", [tool.function.name for tool in self.tools or ()], "tool")
        refuse_unshaped_tools(self.tools, self.functions)
        return self

    @model_validator(mode="after")
    def _tool_choice_names_a_tool(self) -> ChatCompletionRequest:
        """``tool_choice`` comes with ``tools`` to choose from, whichever its value (OpenAI
        refuses it without, ``none`` too; no common client sends it so: ``docs/api.md``), and
        a named one names one of them."""
        choice = self.tool_choice
        if choice is not None and self.tools is None:
            raise ParamProblem(
                "tool_choice",
                "tool_choice is only allowed when tools are specified; send tools, or leave"
                " tool_choice out",
            )
        if isinstance(choice, NamedToolChoice):
            names = {tool.function.name for tool in self.tools or ()}
            if choice.function.name not in names:
                raise ParamProblem(
                    "tool_choice",
                    f"tool_choice names {shown(choice.function.name)}, not one of tools",
                )
        call = self.function_call  # the older form: it names one of functions (or of tools)
        if call in ("auto", "none") and self.functions is None and self.tools is None:
            raise ParamProblem("function_call", f"function_call {shown(call)} needs functions")
        if isinstance(call, NamedFunction):
            names = {f.name for f in self.functions or ()}
            names |= {tool.function.name for tool in self.tools or ()}
            if call.name not in names:
                raise ParamProblem(
                    "function_call", f"function_call names {shown(call.name)}, not one of functions"
                )
        return self
