"""The request parameters an open-model server would take that the gateway governs itself, and
why: never passed on, whatever a client sends or an operator allows.

The OpenAI-shaped endpoints refuse each of them by name with its reason (a 400,
``stellwerk.gateway.sampling.Governed``), and the config refuses one in a backend's
``pass_params`` with the same reason (``stellwerk.config.backend``): listing it there would let
a client past what the gateway caps, reserves, permits or keeps apart. Every other parameter the
gateway does not know is refused too unless an operator lets it pass to a backend
(``stellwerk.gateway.unknown_params``); these cannot be let through at all.

It is the config's, which the gateway imports (docs/architecture.md), and imports nothing.
"""

from __future__ import annotations

_LENGTH = (
    "the answer's length is max_tokens (or max_completion_tokens; max_output_tokens on"
    " /v1/responses), which the gateway caps and reserves the cost of"
)

#: parameter -> why the gateway never passes it on
NOT_PASSED_ON = {
    "n_predict": _LENGTH + "; a llama.cpp server would take n_predict over it",
    "max_new_tokens": _LENGTH,
    "n_cmpl": "one answer a request (as n: 1); a llama.cpp server would make n_cmpl answers on"
    " the reservation of one",
    "lora": "a LoRA adapter makes the answer another model's than the one permitted; serve the"
    " adapter as a model of its own",
    "id_slot": "the server's slots are shared by every caller; the gateway does not let one"
    " request pin (and evict) another's",
    "grammar": "a malformed grammar stops llama.cpp servers for everyone; ask for JSON with"
    " response_format",
    "priority": "the model server's queue is shared by every department; the gateway does not"
    " let one request jump it (vLLM schedules by it when started with"
    " --scheduling-policy priority)",
    "kv_transfer_params": "it names KV-cache blocks on other servers to load or keep (vLLM's"
    " disaggregated serving), which only the proxy in front of the servers sets, never a"
    " client",
}
