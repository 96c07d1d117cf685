"""A JSON schema's ``pattern`` in the syntax llama.cpp's grammar builders take, matching what it
matches in ECMAScript.

llama-cpp-python's converter (``llama_cpp/llama_grammar.py``, ``_visit_pattern``, 0.3.36) and
llama.cpp's (``common/json-schema-to-grammar.cpp``, which Ollama and llama-server use) read a
pattern with a small parser of their own. What they get wrong, and what is sent instead:

- A pattern not written ``^...$``: llama-cpp-python drops the whole schema (any JSON comes back),
  llama.cpp refuses it. JSON Schema patterns are not anchored (``abc`` matches ``xabcx``), so each
  top-level alternative without ``^`` (``$``) is given any characters before (after) it, and the
  whole is sent as ``^(...)$``. An anchor anywhere else (``a^b``, ``(^a)``) has no exact form.
- ``(?:X)`` and ``(?<name>X)``: llama-cpp-python drops the schema, llama.cpp skips the named
  group (a looser answer). Both match as ``(X)`` does; back references, which would tell them apart,
  are refused (``pattern_escapes``). Lookahead and lookbehind (``(?=``, ``(?!``, ``(?<=``,
  ``(?<!``) and modifiers (``(?i)``) have no grammar form: llama.cpp skips them silently.
- A lazy quantifier (``*?``, ``{2}?``): the grammar has no laziness, and the converters read the
  ``?`` as "optional" (``a{2}?`` would allow ``""``). Whether a string matches does not depend on
  laziness, so the ``?`` is left out.
- ``{`` that starts no quantifier (``a{,3}``, ``{x}``) is a literal character in ECMAScript; the
  converters read ``{,3}`` as ``{0,3}``. A lone ``]`` or ``}``, a literal in ECMAScript, loops
  both converters forever (the server stops answering). Such characters are sent as classes
  (``[\\u007D]``).
- ``X{n,m}`` is nested ``m - n`` deep by llama-cpp-python's converter; past ``MAX_OPTIONAL`` the
  server process dies parsing it, so such a count is refused; so are counted groups in counted
  groups whose counts multiplied pass it (``(a{0,999}){0,999}``: the server hangs for minutes).
- NUL (``\\0``, ``\\x00``, ``\\u0000``) alone: llama.cpp ends a string at it (the server aborts),
  and no JSON string the server writes can hold it raw; refused (in a negated class, ``[^\\0]``,
  which leaves it out, it is sent).
- ``.`` excludes ECMAScript's four line terminators (the converters' dot only two), ``[^]`` is any
  character, ``[]`` none (refused), a class holding a negated escape (``[\\s\\S]``, ``[\\W]``) is
  written from the set of characters it means (``stellwerk.backends.char_sets``), a top-level
  ``|`` is put in a group (llama-cpp-python's grammar would otherwise split the JSON string's
  quotes), an empty alternative or group becomes an optional group, and a class is written with
  its ranges as ECMAScript reads them (``[a-z-9]``: a dash of its own, sent as ``\\u002D``).

Escapes are ``pattern_escapes``'s. For llama.cpp's grammar builders, which put the characters raw
inside the answer's JSON string, ``json_safe`` writes each character as JSON writes it there
(``stellwerk.backends.json_strings``). Classes are read as sets of whole code points (the ``u``
flag's reading, which the model servers share): a character beyond the Basic Multilingual Plane is
one character to a grammar and two code units to ECMAScript without the flag, the one place the
rewrite can differ (``.``, ``[^a]``, ``[^\\x00-\\uffff]`` meeting such a character). A character
written as its UTF-16 halves (``\\uD83D\\uDE00``) is that character, and a surrogate that cannot
be paired is refused (``stellwerk.backends.surrogates``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stellwerk.backends.char_sets import ALL, CharSet, char_set, complement, holds, written
from stellwerk.backends.json_strings import UNSAFE, json_safe
from stellwerk.backends.pattern_escapes import (
    PatternProblem,
    code_point,
    escape,
    literal,
    ranges_of,
)
from stellwerk.backends.surrogates import HIGH, LOW, SURROGATES, lone, only, paired

_TERMINATORS = "\\n\\r\\u2028\\u2029"
_DOT = f"[^{_TERMINATORS}]"  # ECMAScript's . without the s flag
_ANY = f"({_DOT}|[{_TERMINATORS}])"  # any character: [^] or [\s\S]
_DOT_SET = complement(char_set([(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)]))
_BRACED = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")  # ECMAScript's only braced quantifiers
_SPECIAL = frozenset('|.()[]{}*+?^$\\"')  # sent as a class (a quote: the JSON string's end)
_CLASS_SPECIAL = frozenset('[]\\-^"')
_LOOKS = (
    ("<=", "a lookbehind"),
    ("<!", "a negative lookbehind"),
    ("=", "a lookahead"),
    ("!", "a negative lookahead"),
)
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")  # a group's name (ASCII: the common case)
MAX_GROUPS = 32  # groups in groups; past it the grammar builders recurse too deep to be of use
#: ``X{n,m}``'s optional repeats, which llama-cpp-python's converter nests one in another: the
#: server process died on 2,000 (its grammar parser recursing), answered 1,000 (0.3.36)
MAX_OPTIONAL = 1000
_NUL = "NUL cannot be in a JSON string the server writes"


def portable_pattern(pattern: str, *, json_safe: bool = False) -> str:
    """``pattern`` in the syntax the grammar builders take, matching exactly what it matches in
    ECMAScript (see the module's docstring); a ``PatternProblem`` naming the part that has no
    such form. ``json_safe``: each character as it stands inside a JSON string
    (``stellwerk.backends.json_strings``), for llama.cpp's grammar builders."""
    reader = _Reader(pattern, json_safe=json_safe)
    alternatives = reader.alternatives(0)
    if reader.index < len(pattern):
        raise PatternProblem(f"')' at {reader.index} closes no group")
    bodies = [alternative.anchored(reader.one_of(ALL)) for alternative in alternatives]
    return "^" + (bodies[0] if len(bodies) == 1 else _group(bodies)) + "$"


@dataclass(frozen=True, slots=True)
class _Alternative:
    """One top-level alternative: its parts, and whether it was anchored at either end."""

    body: str
    start: bool
    end: bool

    def anchored(self, any_char: str) -> str:
        """The alternative matching a whole string: any characters where it was not anchored."""
        before = "" if self.start else any_char + "*"
        after = "" if self.end or (not self.body and before) else any_char + "*"
        return before + self.body + after


def _group(bodies: list[str]) -> str:
    """Alternatives as one group; an empty one makes the group optional (``(a|)``: ``((a)?)``,
    a group of its own so that a quantifier after it takes it whole)."""
    filled = [body for body in bodies if body]
    if not filled:
        return ""
    group = "(" + "|".join(filled) + ")"
    return group if len(filled) == len(bodies) else f"({group}?)"


def _most(quantifier: str | None) -> int:
    """How many times a quantifier has the converters write its atom out (``{2,5}``: 5; ``*``,
    ``+``, ``?`` and none: once, as a rule or as it is)."""
    braced = _BRACED.fullmatch(quantifier) if quantifier else None
    if braced is None:
        return 1
    return int(braced.group(3) or braced.group(1))


class _Reader:
    """Reads a pattern left to right (ECMAScript's grammar, with its Annex B for web browsers,
    which JSON Schema validators follow), writing each part as it is read."""

    def __init__(self, pattern: str, *, json_safe: bool) -> None:
        self.pattern = pattern
        self.json_safe = json_safe
        self.index = 0
        self._repeats = [1]  # per open group: the most repeats of one of its terms so far
        self._atom_repeats = 1  # the repeats inside the atom just read (a group's)

    def one_of(self, chars: CharSet) -> str:
        """One character of ``chars`` (not empty), as the grammar builders are to take it."""
        if self.json_safe:
            safe = json_safe(chars)
            if safe is None:  # NUL alone, refused where it is read
                raise PatternProblem(f"the part before {self.index}: {_NUL}")
            return safe
        if chars == ALL:
            return _ANY
        return _DOT if chars == _DOT_SET else written(chars)

    def _peek(self, ahead: int = 0) -> str:
        return self.pattern[self.index + ahead : self.index + ahead + 1]

    def alternatives(self, depth: int) -> list[_Alternative]:
        found = [self._sequence(depth)]
        while self._peek() == "|":
            self.index += 1
            found.append(self._sequence(depth))
        return found

    def _sequence(self, depth: int) -> _Alternative:
        top = depth == 0
        start = top and self._peek() == "^"
        self.index += start
        parts: list[str] = []
        while self._peek() not in ("", "|", ")"):
            if self._peek() == "$" and top and self._peek(1) in ("", "|"):
                self.index += 1
                return _Alternative("".join(parts), start, True)
            parts.append(self._term(depth))
        return _Alternative("".join(parts), start, False)

    def _term(self, depth: int) -> str:
        self._atom_repeats = 1
        text = self._atom(depth)
        at = self.index
        quantifier = self._quantifier()
        inner = self._atom_repeats
        repeats = inner * _most(quantifier)
        if inner > 1 and repeats > MAX_OPTIONAL:
            raise PatternProblem(
                f"{quantifier} at {at} repeats a group with counted repeats inside, {repeats} in"
                f" all, more than the {MAX_OPTIONAL} llama-cpp-python's server can build"
                " (it hangs); write it with fewer"
            )
        self._repeats[-1] = max(self._repeats[-1], repeats)
        if quantifier is None:
            return text
        if self._quantifier() is not None:
            raise PatternProblem(f"a quantifier at {self.index} repeats a quantifier")
        return "" if not text or quantifier in ("{0}", "{0,0}") else text + quantifier

    def _quantifier(self) -> str | None:
        """The quantifier here, without a lazy ``?`` (which changes no match)."""
        char = self._peek()
        braced = _BRACED.match(self.pattern, self.index) if char == "{" else None
        if braced is not None:
            low, high = braced.group(1), braced.group(3)
            if high and int(high) < int(low):
                raise PatternProblem(f"{braced.group(0)} at {self.index}: numbers out of order")
            if high and int(high) - int(low) > MAX_OPTIONAL:
                raise PatternProblem(
                    f"{braced.group(0)} at {self.index} allows more than {MAX_OPTIONAL} optional"
                    " repeats, which llama-cpp-python's server dies on; write it with fewer"
                    f" (or as {{{low},}})"
                )
            found = braced.group(0)
            self.index = braced.end()
        elif char and char in "*+?":
            found = char
            self.index += 1
        else:
            return None
        if self._peek() == "?":
            self.index += 1
        return found

    def _atom(self, depth: int) -> str:
        char = self._peek()
        if char in ("^", "$"):
            raise PatternProblem(
                f"{char} at {self.index} (an anchor inside the pattern, not at the start or end"
                " of it or of one of its top-level alternatives) is not supported by the model"
                " servers"
            )
        if char in ("*", "+", "?") or (char == "{" and _BRACED.match(self.pattern, self.index)):
            raise PatternProblem(f"the quantifier at {self.index} repeats nothing")
        if char == ".":
            self.index += 1
            return self.one_of(_DOT_SET)
        if char == "[":
            return self._class()
        if char == "(":
            return self._group(depth)
        if char == "\\":
            at = self.index
            body, negated = self._escape(in_class=False)
            if code_point(body) == 0:
                raise PatternProblem(f"{self.pattern[at : self.index]} at {at}: {_NUL}")
            if not negated and only(char_set(ranges_of(body)), SURROGATES):
                return self._astral(char_set(ranges_of(body)), at)
            if self.json_safe:
                chars = char_set(ranges_of(body))
                return self.one_of(complement(chars) if negated else chars)
            return f"[{'^' if negated else ''}{body}]"
        self.index += 1
        if char == "\0":
            raise PatternProblem(f"the character at {self.index - 1}: {_NUL}")
        if only(((ord(char), ord(char)),), SURROGATES):
            return self._astral(((ord(char), ord(char)),), self.index - 1)
        if self.json_safe and holds(UNSAFE, ord(char)):
            return self.one_of(((ord(char), ord(char)),))
        return char if char.isprintable() and char not in _SPECIAL else f"[{literal(char)}]"

    def _escape(self, *, in_class: bool) -> tuple[str, bool]:
        """The escape here as the inside of a class, and whether that class is negated."""
        if self.index + 1 == len(self.pattern):
            raise PatternProblem("the pattern ends in a lone backslash")
        body, negated, used = escape(self.pattern, self.index + 1, in_class)
        self.index += 1 + used
        return body, negated

    def _group(self, depth: int) -> str:
        opened = self.index
        if depth >= MAX_GROUPS:
            raise PatternProblem(f"groups are nested deeper than {MAX_GROUPS} levels")
        self.index += 1
        if self._peek() == "?":
            self._group_kind(opened)
        self._repeats.append(1)
        inner = self.alternatives(depth + 1)
        self._atom_repeats = self._repeats.pop()
        if self._peek() != ")":
            raise PatternProblem(f"the group opened at {opened} is not closed")
        self.index += 1
        return _group([alternative.body for alternative in inner])

    def _group_kind(self, opened: int) -> None:
        """Past ``(?:`` and ``(?<name>``, which match as ``(``; any other ``(?`` has no form."""
        rest = self.pattern[self.index + 1 :]
        if rest.startswith(":"):
            self.index += 2
            return
        what = next((what for start, what in _LOOKS if rest.startswith(start)), None)
        if what is None and rest.startswith("<"):
            name = rest[1:].partition(">")[0]
            if _NAME.fullmatch(name) and rest[1 + len(name) :].startswith(">"):
                self.index += 3 + len(name)
                return
            what = "not a group name"
        shown = self.pattern[opened : opened + 4]
        raise PatternProblem(
            f"{shown!r} at {opened} ({what or 'a modifier'}) is not supported by the model servers"
        )

    def _astral(self, highs: CharSet, at: int) -> str:
        """A part of surrogates alone (at ``at``, just read) and the part of low ones after it,
        as the characters they pair to (``stellwerk.backends.surrogates``)."""
        shown = self.pattern[at : self.index]
        lows = self._low_part() if only(highs, HIGH) else None
        if lows is None or not only(lows, LOW):
            raise lone(shown, at)
        return self.one_of(paired(highs, lows, f"{self.pattern[at : self.index]} at {at}"))

    def _low_part(self) -> CharSet | None:
        """The characters of the escape, class or character here; None for anything else."""
        char = self._peek()
        if char == "\\" and self._peek(1):
            body, negated = self._escape(in_class=False)
            return None if negated else char_set(ranges_of(body))
        if char == "[":
            return self._class_set()[0]
        if char and only(((ord(char), ord(char)),), LOW):
            self.index += 1
            return ((ord(char), ord(char)),)
        return None

    def _class(self) -> str:
        """A class as it is written (``[^a-z]``), or, holding a negated escape (``[\\s\\S]``)
        or for a JSON-safe grammar, from the set of its characters; a class of surrogates alone
        with the part after it, as the characters they pair to."""
        opened = self.index
        chars, items, negated = self._class_set()
        if only(chars, SURROGATES):
            return self._astral(chars, opened)
        if self.json_safe or not items or any(item.negated for item in items):
            return self.one_of(chars)
        return "[" + "^" * negated + "".join(item.text for item in items) + "]"

    def _class_set(self) -> tuple[CharSet, list[_Part], bool]:
        """The class here: its characters, its parts, whether it is negated; refused when it
        holds no character, or NUL alone."""
        opened = self.index
        self.index += 1
        negated = self._peek() == "^"
        self.index += negated
        items: list[_Part] = []
        while self._peek() != "]":
            if not self._peek():
                raise PatternProblem(f"the character class opened at {opened} is not closed")
            items.append(self._class_part(negated))
        self.index += 1
        chars = char_set(code for item in items for code in item.chars)
        chars = complement(chars) if negated else chars
        shown = self.pattern[opened : self.index]
        if not chars:
            raise PatternProblem(f"{shown} at {opened} (a class of no character) matches nothing")
        if chars == ((0, 0),):
            raise PatternProblem(f"{shown} at {opened}: {_NUL}")
        return chars, items, negated

    def _class_part(self, negated: bool) -> _Part:
        """One character, class escape or range; a dash next to a class escape (``[\\w-.]``)
        is the dash itself, as ECMAScript reads it there. NUL only in a ``negated`` class
        (``[^\\0]``), which leaves it out."""
        at = self.index
        first = self._class_atom()
        if self._peek() != "-" or self._peek(1) in ("", "]"):
            if first.code == 0 and not negated:
                raise PatternProblem(f"{self.pattern[at : self.index]} at {at}: {_NUL}")
            return first
        at = self.index
        self.index += 1
        second = self._class_atom()
        if first.code is None:
            dash = _Part("\\u002D", ((0x2D, 0x2D),), code=0x2D)
            return _Part(
                first.text + dash.text + second.text,
                first.chars + dash.chars + second.chars,
                first.negated or second.negated,
            )
        if second.code is None:
            raise PatternProblem(
                f"a range ending in a class escape ({self.pattern[at - 1 : self.index]!r}) is"
                " ambiguous; put the dash last in the class or escape it (\\-)"
            )
        if second.code < first.code:
            raise PatternProblem(f"the range at {at - 1} is out of order")
        return _Part(f"{first.text}-{second.text}", ((first.code, second.code),))

    def _class_atom(self) -> _Part:
        """A class's character or class escape."""
        char = self._peek()
        if char == "\\":
            body, negated = self._escape(in_class=True)
            chars = char_set(ranges_of(body))
            code = code_point(body)
            return _Part(body, complement(chars) if negated else chars, negated, code)
        self.index += 1
        shown = char if char.isprintable() and char not in _CLASS_SPECIAL else literal(char)
        return _Part(shown, ((ord(char), ord(char)),), code=ord(char))


@dataclass(frozen=True, slots=True)
class _Part:
    """A part of a class: as it is written (``a-z``, ``0-9``), its characters, and whether it is
    a negated escape (``\\S``), which has no written form inside a class."""

    text: str
    chars: CharSet
    negated: bool = False
    code: int | None = None  # the one character it is (``a``, ``\\u002E``); None: a set or range
