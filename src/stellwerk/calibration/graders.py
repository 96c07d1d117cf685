"""Graders: turn a model's free-text answer and the reference into a score in [0, 1].

Each grader is a pure function ``(answer, reference) -> float`` with a name that the outcomes and
the summary carry, so that a reader knows how every score was obtained:

- ``choice-letter``: a multiple-choice label (A-J, or 1-9 where the source numbers its options),
  found in the usual ways models state it ("The answer is (B)", "**B**", "Answer: B", "B) ...").
- ``final-number``: the final answer of a math word problem. The reference may be a bare number,
  a GSM8K solution ending in ``#### 18`` or a MATH solution with ``\\boxed{...}``; the answer's
  final number is taken from ``\\boxed{}``, ``####``, "the answer is", "Answer:" or else its last
  number. Numbers compare with a relative tolerance of 1e-6; "$1,234.50", "18.0", "3/4", "50%" are
  understood. A reference that is not a number (``y=-2x+1``) is compared as a normalised expression.
- ``short-answer``: a short factual reference (a name, a place): normalised (case, punctuation,
  articles, spacing) and found as whole words in the normalised answer.
- ``concept-coverage``: CommonGen-style: the share of the reference's comma-separated concepts the
  answer uses (inflected forms count: "roast" in "roasted").
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from fractions import Fraction

Grader = Callable[[str, str], float]

CHOICE_LETTER = "choice-letter"
FINAL_NUMBER = "final-number"
SHORT_ANSWER = "short-answer"
CONCEPT_COVERAGE = "concept-coverage"

# ---------------------------------------------------------------------------------- choice letter

_LABEL = r"[A-J1-9]"
_CHOICE_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE if flags else 0)
    for pattern, flags in (
        # "The answer is (B)", "the correct answer is: **B**", "Answer: B", "Final answer: (C)"
        (rf"answer\s*(?:is|:|would be|=)\s*:?\s*[\*\(\[\s]*({_LABEL})\b(?![\w'])", True),
        (rf"\\boxed\{{\s*(?:\\text\{{)?\s*({_LABEL})\s*\}}", False),
        (rf"\b(?:option|choice)\s*[\(\[]?({_LABEL})\b", True),
        (rf"\*\*\s*\(?({_LABEL})\)?[\.:)]?\s*\*\*", False),  # **B** / **(B)** / **B.**
        (rf"^\s*\(?({_LABEL})[\)\.:]?(?:\s|$)", False),  # "B) Paris", "(C)", "D." at the start
        (rf"\(({_LABEL})\)", False),  # "(B)" anywhere
    )
)
_LETTERS = "ABCDEFGHIJ"


def extract_choice(answer: str) -> str | None:
    """The option label a model chose, upper-case; None when it named none."""
    text = answer.strip()
    if not text:
        return None
    for pattern in _CHOICE_PATTERNS:
        matches = pattern.findall(text)
        if matches:
            label: str = matches[-1]
            return label.upper()
    bare = re.fullmatch(rf"\s*({_LABEL})\s*[\.\)]?\s*", text, re.IGNORECASE)
    return bare.group(1).upper() if bare else None


def _same_label(chosen: str, reference: str) -> bool:
    if chosen == reference:
        return True
    # Sources that number their options (ARC: "1".."4") are answered with letters by some models.
    if reference.isdigit() and chosen in _LETTERS:
        return _LETTERS.index(chosen) + 1 == int(reference)
    return False


def grade_choice(answer: str, reference: str) -> float:
    chosen = extract_choice(answer)
    return 1.0 if chosen is not None and _same_label(chosen, reference.strip().upper()) else 0.0


def is_choice_label(reference: str) -> bool:
    return re.fullmatch(_LABEL, reference.strip().upper()) is not None


# ----------------------------------------------------------------------------------- final number

_NUMBER = r"-?\$?\s?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+)?%?|-?\$?\.\d+%?"
_NUMBER_RE = re.compile(_NUMBER)


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), nested braces allowed."""
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    i = text.index("{", start) + 1
    depth = 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j].strip()
    return None


def reference_answer(reference: str) -> str:
    """The final answer inside a worked solution: after ``####``, in ``\\boxed{}``, or all of it."""
    if "####" in reference:
        return reference.rsplit("####", 1)[1].strip()
    boxed = last_boxed(reference)
    return boxed if boxed is not None else reference.strip()


def parse_number(text: str) -> Fraction | None:
    """'$1,234.50' -> 1234.5, '3/4' -> 0.75, '50%' -> 50, '\\frac{3}{4}' -> 0.75; else None."""
    cleaned = text.strip().rstrip(".").replace("\\$", "").replace("$", "").replace("\\!", "")
    cleaned = re.sub(r"\\(?:text|mbox|mathrm)\{[^}]*\}", "", cleaned).replace("\\%", "%")
    frac = re.fullmatch(r"(-?)\\[dt]?frac\{(-?\d+)\}\{(\d+)\}", _braced_fracs(cleaned))
    if frac:
        sign, num, den = frac.groups()
        return None if int(den) == 0 else Fraction(int(num), int(den)) * (-1 if sign else 1)
    cleaned = cleaned.replace(",", "").replace(" ", "").removesuffix("%")
    if len(cleaned) > 64:
        return None
    if re.fullmatch(r"-?\d+/\d+", cleaned):
        num, den = cleaned.split("/")
        return None if int(den) == 0 else Fraction(int(num), int(den))
    if re.fullmatch(r"-?(?:\d+(?:\.\d*)?|\.\d+)", cleaned):
        return Fraction(cleaned)
    return None


_FINAL_MARKERS = (
    re.compile(r"####\s*(.+)"),
    re.compile(r"(?:final answer|the answer)\s*(?:is|:|=)\s*:?\s*(.+)", re.IGNORECASE),
    re.compile(r"^\s*answer\s*:\s*(.+)", re.IGNORECASE | re.MULTILINE),
)


def extract_final(answer: str) -> str | None:
    """The text a model gave as its final answer (not yet parsed as a number)."""
    boxed = last_boxed(answer)
    if boxed is not None:
        return boxed
    for marker in _FINAL_MARKERS:
        found = marker.findall(answer)
        if found:
            tail: str = found[-1].strip().strip("*").strip().rstrip(".").strip()
            return tail or None
    numbers = _NUMBER_RE.findall(answer)
    return numbers[-1] if numbers else None


def _given_number(text: str) -> Fraction | None:
    """The number a final answer states: all of it, or else its first number ("250 dollars")."""
    whole = parse_number(text)
    if whole is not None:
        return whole
    first = _NUMBER_RE.search(text)
    return parse_number(first.group(0)) if first else None


def _braced_fracs(text: str) -> str:
    """``\\frac32`` and ``\\frac1{72}`` written out as ``\\frac{3}{2}``, ``\\frac{1}{72}``."""
    text = text.replace(" ", "")
    text = re.sub(r"\\([dt]?frac)(\d)(\d)", r"\\\1{\2}{\3}", text)
    text = re.sub(r"\\([dt]?frac)(\d)\{", r"\\\1{\2}{", text)
    return re.sub(r"\\([dt]?frac)\{([^{}]*)\}(\d)", r"\\\1{\2}{\3}", text)


def normalise_expression(text: str) -> str:
    """A LaTeX-ish answer in a canonical spelling: ``\\dfrac`` = ``\\frac``, no spaces, no ``$``."""
    out = _braced_fracs(text.strip().strip("$").rstrip("."))
    out = re.sub(r"\\(?:text|mbox|mathrm)\{([^}]*)\}", r"\1", out)
    for old, new in (("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\left", ""), ("\\right", "")):
        out = out.replace(old, new)
    out = out.replace("\\!", "").replace("\\,", "").replace("\\ ", "").replace("^{\\circ}", "")
    return re.sub(r"\s+", "", out).lower()


def grade_final_number(answer: str, reference: str) -> float:
    expected_text = reference_answer(reference)
    given_text = extract_final(answer)
    if given_text is None:
        return 0.0
    expected = parse_number(expected_text)
    if expected is None:
        return (
            1.0 if normalise_expression(given_text) == normalise_expression(expected_text) else 0.0
        )
    given = _given_number(given_text)
    if given is None:
        return 0.0
    return 1.0 if abs(given - expected) <= abs(expected) * Fraction(1, 10**6) else 0.0


def is_final_number(reference: str) -> bool:
    """A bare number, or a worked solution whose final answer is marked (#### or \\boxed{})."""
    if "####" in reference or last_boxed(reference) is not None:
        return True
    return parse_number(reference) is not None


# ----------------------------------------------------------------------------------- short answer

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_QUOTES_DASHES = "\u2018\u2019\u201c\u201d\u2013\u2014"
_PUNCT = str.maketrans(dict.fromkeys(string.punctuation + _QUOTES_DASHES, " "))


def normalise_text(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def _alternatives(reference: str) -> set[str]:
    """'Owen (Scott McCord)' accepts 'Owen (Scott McCord)', 'Owen' and 'Scott McCord'."""
    forms = {reference}
    inner = re.findall(r"\(([^)]*)\)", reference)
    outer = re.sub(r"\([^)]*\)", " ", reference)
    forms.update(inner)
    forms.add(outer)
    return {form for form in map(normalise_text, forms) if form}


def grade_short_answer(answer: str, reference: str) -> float:
    given = f" {normalise_text(answer)} "
    return 1.0 if any(f" {form} " in given for form in _alternatives(reference)) else 0.0


def is_short_answer(reference: str) -> bool:
    words = reference.split()
    return 0 < len(words) <= 8 and "\n" not in reference.strip()


# ------------------------------------------------------------------------------- concept coverage


def concepts(reference: str) -> list[str]:
    return [c.strip().lower() for c in reference.split(",") if c.strip()]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def grade_concept_coverage(answer: str, reference: str) -> float:
    wanted = concepts(reference)
    if not wanted:
        return 0.0
    used = {_stem(word) for word in normalise_text(answer).split()}
    hits = sum(1 for concept in wanted if all(_stem(w) in used for w in concept.split()))
    return hits / len(wanted)


def is_concept_list(reference: str, prompt: str) -> bool:
    """A comma-separated list of single words that the prompt itself lists (CommonGen)."""
    items = concepts(reference)
    if len(items) < 2 or any(len(item.split()) > 2 for item in items):
        return False
    lowered = prompt.lower()
    return all(item in lowered for item in items)


# ---------------------------------------------------------------------------------------- registry


def builtin_graders() -> Mapping[str, Grader]:
    """Graders by name, as ``--grader TASK=NAME`` refers to them."""
    return {
        CHOICE_LETTER: grade_choice,
        FINAL_NUMBER: grade_final_number,
        SHORT_ANSWER: grade_short_answer,
        CONCEPT_COVERAGE: grade_concept_coverage,
    }
