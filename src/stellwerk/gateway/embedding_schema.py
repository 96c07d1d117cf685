"""The texts to embed, as ``/v1/embeddings`` takes them (and Ollama's ``/api/embed`` and
``/api/embeddings`` by the same rules): a string or a list of strings, none empty, never token
ids (the gateway's backends embed text)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from stellwerk.gateway.openai_schema import ModelName
from stellwerk.gateway.token_ids import refused, token_ids


def _texts(value: Any) -> Any:
    """What texts to embed may not be, told plainly before their type is checked: empty, or
    token ids (OpenAI's API takes lists of them; the gateway's backends embed text)."""
    if value == "":
        raise ValueError("the text to embed is empty; send a non-empty string")
    if value == []:
        raise ValueError("the list of texts to embed is empty; send at least one")
    if token_ids(value):
        raise ValueError(
            refused(
                "input",
                "a string or a list of strings (LangChain's OpenAIEmbeddings sends token ids"
                " unless check_embedding_ctx_length=False)",
            )
        )
    return value


#: the texts to embed: a string or a list of them, none empty
EmbeddingInput = Annotated[str | list[str], BeforeValidator(_texts)]
#: one text to embed, not empty
EmbeddingText = Annotated[str, BeforeValidator(_texts)]


class EmbeddingRequest(BaseModel):
    """``/v1/embeddings``'s body (checked as strictly as the chat schema's). Its fields but
    ``encoding_format`` (the gateway encodes the vectors) are passed on; a field it does not
    know is refused unless an operator allows it (``stellwerk.gateway.unknown_params``)."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)

    model: ModelName
    input: EmbeddingInput
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None
    #: what the text is for, which some embedding models embed differently (NVIDIA NIM's and
    #: vLLM's ``"query"``, ``"passage"``; Cohere's ``"search_document"`` ...): passed on as sent
    input_type: str | None = None
    #: the gateway's extension (and NVIDIA NIM's ``"NONE"``, ``"START"``, ``"END"``): ``true``,
    #: ``"START"`` or ``"END"`` lets the backend cut an input; passed on as sent
    truncate: bool | str | None = None

    @property
    def may_cut(self) -> bool:
        return self.truncate is True or self.truncate in ("START", "END")
