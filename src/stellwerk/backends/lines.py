"""A streamed body cut into lines the way SSE cuts them: at CR, LF or CRLF, and nowhere else.

httpx's ``aiter_lines`` also cuts at U+2028 and the other Unicode breaks of ``str.splitlines``,
which orjson leaves unescaped inside JSON strings: an NDJSON line or SSE event holding one would
arrive in two pieces, neither of them JSON.
"""

from __future__ import annotations

import codecs
import re

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class LineSplitter:
    """Fed the body's chunks as they arrive (cut anywhere, even inside a UTF-8 character or a
    CRLF); each ``feed`` returns the lines that chunk completes, ``end`` the rest."""

    __slots__ = ("_decoder", "_pending")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    def feed(self, chunk: bytes) -> list[str]:
        text = self._pending + self._decoder.decode(chunk)
        held = text.endswith("\r")  # maybe the first half of a CRLF
        *complete, pending = _LINE_BREAK.split(text[:-1] if held else text)
        self._pending = pending + "\r" if held else pending
        return complete

    def end(self) -> list[str]:
        rest = _LINE_BREAK.split(self._pending + self._decoder.decode(b"", final=True))
        return rest[:-1] if rest[-1] == "" else rest
