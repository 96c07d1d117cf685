"""The log probabilities of an answer's tokens, in one shape whatever the server sent.

The shape is an entry of OpenAI's chat ``logprobs.content``: ``{"token", "logprob", "bytes",
"top_logprobs": [{"token", "logprob", "bytes"}, ...]}``, one per token of the answer, in order;
each API renders it in its own (``gateway/openai_wire.py``, ``gateway/ollama_wire.py``,
``gateway/completions_api.py``). A request asks for them with the chat parameters
``logprobs: true`` and ``top_logprobs: N`` (the alternatives per token, 0 to 20), whichever
API it came by; the legacy text completion's ``logprobs: N`` arrives as those.

What the servers send, and how it becomes that shape (pure functions):

* an OpenAI-compatible chat answer (``choices[0].logprobs.content``) is that shape already,
  except that llama-cpp-python sends ``bytes: null`` and adds the chosen token to the top N
  when it is not among them: ``bytes`` are the token's UTF-8 then, and the alternatives the
  first ``top`` (the server sorts them, most likely first);
* a text completion (``/v1/completions``) sends OpenAI's legacy lists (``tokens``,
  ``token_logprobs``, ``top_logprobs`` one ``{token: logprob}`` per token);
* Ollama sends a list of entries beside the message, ``bytes`` and ``top_logprobs`` left out
  when empty.

llama-cpp-python sends the tokens of a stop sequence too, which are not in the answer's text:
in a whole answer after its text (``within`` leaves them out), in a stream as a chunk with no
text (``Held`` keeps such tokens until text follows, and drops them at the end). So the tokens
joined give the answer's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stellwerk.backends.types import JSON

#: the most alternatives per token a request may ask for (OpenAI's and Ollama's limit)
MOST_ALTERNATIVES = 20


def wanted(params: JSON) -> int | None:
    """The alternatives per token a request asked for, None when it asked for no logprobs."""
    if params.get("logprobs") is not True:
        return None
    top = params.get("top_logprobs")
    return top if isinstance(top, int) and not isinstance(top, bool) else 0


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _bytes(token: str, given: Any) -> list[int]:
    if isinstance(given, list):
        return given
    return list(token.encode("utf-8", "surrogatepass"))


def _alternative(token: Any, logprob: Any, given: Any = None) -> JSON | None:
    if not isinstance(token, str):
        return None
    return {"token": token, "logprob": _number(logprob), "bytes": _bytes(token, given)}


def _entry(token: str, logprob: Any, given: Any, alternatives: list[JSON], top: int) -> JSON:
    return {
        "token": token,
        "logprob": _number(logprob),
        "bytes": _bytes(token, given),
        "top_logprobs": alternatives[:top],
    }


def _listed(items: Any, top: int) -> list[JSON] | None:
    """Entries in the shape of OpenAI's chat and of Ollama (``top_logprobs`` a list of
    ``{token, logprob, bytes}``, perhaps left out)."""
    if not isinstance(items, list):
        return None
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            continue
        alternatives = []
        others = item.get("top_logprobs")
        for other in others[:top] if isinstance(others, list) else ():
            if isinstance(other, dict):
                found = _alternative(other.get("token"), other.get("logprob"), other.get("bytes"))
                if found is not None:
                    alternatives.append(found)
        out.append(_entry(item["token"], item.get("logprob"), item.get("bytes"), alternatives, top))
    return out


def from_chat(raw: Any, top: int) -> list[JSON] | None:
    """The entries of an OpenAI-compatible chat answer's ``logprobs`` (``{"content": [...]}``)."""
    return _listed(raw.get("content"), top) if isinstance(raw, dict) else None


def from_ollama(raw: Any, top: int) -> list[JSON] | None:
    """The entries of an Ollama answer's ``logprobs`` (a list)."""
    return _listed(raw, top)


def from_text(raw: Any, top: int) -> list[JSON] | None:
    """The entries of a text completion's legacy ``logprobs`` (``tokens``, ``token_logprobs``,
    ``top_logprobs``: one ``{token: logprob}`` per token, or null)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("tokens"), list):
        return None
    tokens = raw["tokens"]
    logprobs = raw.get("token_logprobs") or [None] * len(tokens)
    tops = raw.get("top_logprobs") or [None] * len(tokens)
    out = []
    for token, logprob, others in zip(tokens, logprobs, tops, strict=False):
        if not isinstance(token, str):
            continue
        alternatives = []
        if isinstance(others, dict):
            alternatives = [
                found
                for other, value in list(others.items())[:top]
                if (found := _alternative(other, value)) is not None
            ]
        out.append(_entry(token, logprob, None, alternatives, top))
    return out


def within(entries: list[JSON] | None, text: str | None) -> list[JSON] | None:
    """The entries of the tokens that make up ``text``: those after it (a stop sequence's,
    sent by llama-cpp-python) left out."""
    if entries is None:
        return None
    end, seen, kept = len(text or ""), 0, []
    for entry in entries:
        if seen >= end:
            break
        kept.append(entry)
        seen += len(entry["token"])
    return kept


@dataclass(slots=True)
class Held:
    """A stream's entries that came without text (a stop sequence's tokens, or tokens the
    server holds back while it checks for one), until text follows: they go on with it."""

    entries: list[JSON] = field(default_factory=list)

    def with_text(self, entries: list[JSON] | None, text: str | None) -> list[JSON] | None:
        """The entries to send with a chunk of ``text`` (None for a chunk without text, whose
        entries are held)."""
        if not text:
            self.entries += entries or ()
            return None
        if self.entries:
            entries, self.entries = self.entries + (entries or []), []
        return entries
