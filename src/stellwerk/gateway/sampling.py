"""The parameters the completion endpoints share (chat, completions, responses): OpenAI's
sampling parameters and those of the open-model servers, type-checked in the ranges the servers
take, and the parameters the gateway governs itself, refused by name.

The open-model parameters are those a client of an open model sends in normal use, by the names
the servers read: llama.cpp's ``llama-server`` (``top_k``, ``min_p``, ``repeat_last_n``,
``mirostat``, the DRY and XTC samplers, dynamic temperature, ``top_n_sigma``), llama-cpp-python
(``mirostat_mode``, ``tfs_z``, ``logit_bias_type``) and vLLM (``repetition_penalty``,
``min_tokens``, ``stop_token_ids``). Open WebUI sends the advanced parameters a user sets on a
model under these names (``top_k``, ``repeat_penalty``, ``mirostat`` ...). Each only changes
how the next token is picked from the model's own, within the answer's cap: a server that does
not read one ignores it. A value outside a server's range would be its error (llama-cpp-python
answers HTTP 500, which counted against the backend's circuit): it is the client's 400 here.
Any parameter not named here, nor by an endpoint's own schema, is one the gateway does not
know (``stellwerk.gateway.unknown_params``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from stellwerk.config.governed_params import NOT_PASSED_ON
from stellwerk.errors import shown

_INT32 = 2**31


def _token_ids(bias: dict[str, float]) -> dict[str, float]:
    for token in bias:
        if not (token.isascii() and token.isdigit() and len(token) <= 10):
            raise ValueError(f"keys are token ids (integers as strings), not {shown(token)}")
    return bias


#: token id (a string of digits) -> bias from -100 to 100
LogitBias = Annotated[
    dict[str, Annotated[float, Field(ge=-100, le=100)]], AfterValidator(_token_ids)
]


class Governed(BaseModel):
    """The parameters of ``NOT_PASSED_ON``, each refused with its reason (a 400 naming it) by
    every endpoint that takes a client's sampling parameters (chat, completions, responses)."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)

    n_predict: None = None
    max_new_tokens: None = None
    n_cmpl: None = None
    lora: None = None
    id_slot: None = None
    # llama.cpp's GBNF grammar: a malformed one makes llama-cpp-python's process die (every
    # department's requests with it), and the gateway cannot check GBNF; response_format can
    grammar: None = Field(default=None, description="not passed on; use response_format")
    priority: None = None
    kv_transfer_params: None = None

    @field_validator(*NOT_PASSED_ON, mode="before")
    @classmethod
    def _not_passed_on(cls, value: object, info: ValidationInfo) -> None:
        if value is not None:
            raise ValueError(f"is not passed on: {NOT_PASSED_ON[str(info.field_name)]}")
        return None


class SamplingParams(Governed):
    """The sampling parameters that OpenAI's completion endpoints share, and those the
    open-model servers add, in the ranges the servers take (``top_k`` 0 turns it off)."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=-(2**63), lt=2**63)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: LogitBias | None = None
    user: str | None = None
    # added by llama.cpp, llama-cpp-python and vLLM
    top_k: int | None = Field(default=None, ge=0, lt=_INT32)
    min_p: float | None = Field(default=None, ge=0, le=1)
    typical_p: float | None = Field(default=None, ge=0, le=1)
    tfs_z: float | None = Field(default=None, ge=0)
    repeat_penalty: float | None = Field(default=None, ge=0)
    repetition_penalty: float | None = Field(default=None, gt=0)
    mirostat_mode: int | None = Field(default=None, ge=0, le=2)
    mirostat_tau: float | None = Field(default=None, ge=0, le=10)
    mirostat_eta: float | None = Field(default=None, ge=0.001, le=1)
    min_tokens: int | None = Field(default=None, ge=0, lt=_INT32)
    # llama.cpp's name of top_logprobs, in its bounds
    n_probs: int | None = Field(default=None, ge=0, le=20)
    logit_bias_type: Literal["input_ids", "tokens"] | None = None
    ignore_eos: bool | None = None
    skip_special_tokens: bool | None = None
    cache_prompt: bool | None = None
    # llama.cpp's llama-server (and Open WebUI's advanced parameters, by these names):
    # -1 is the whole context, 0 off
    mirostat: int | None = Field(default=None, ge=0, le=2)
    repeat_last_n: int | None = Field(default=None, ge=-1, lt=_INT32)
    min_keep: int | None = Field(default=None, ge=0, lt=_INT32)
    dry_multiplier: float | None = Field(default=None, ge=0)
    dry_base: float | None = Field(default=None, ge=1)
    dry_allowed_length: int | None = Field(default=None, ge=0, lt=_INT32)
    dry_penalty_last_n: int | None = Field(default=None, ge=-1, lt=_INT32)
    # llama-server refuses an empty list
    dry_sequence_breakers: list[str] | None = Field(default=None, min_length=1)
    xtc_probability: float | None = Field(default=None, ge=0, le=1)
    xtc_threshold: float | None = Field(default=None, ge=0, le=1)
    dynatemp_range: float | None = Field(default=None, ge=0)
    dynatemp_exponent: float | None = Field(default=None, ge=0)
    top_n_sigma: float | None = None  # 0 or below: off
    # vLLM's: token ids that end the answer, as stop strings do
    stop_token_ids: list[Annotated[int, Field(ge=0, lt=_INT32)]] | None = None
