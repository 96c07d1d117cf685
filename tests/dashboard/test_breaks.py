"""Where a long word may break (``breaks.breakable``): after a URL's separators, only in words
too long for a narrow column; the text escaped like any other."""

from __future__ import annotations

import pytest

from stellwerk.dashboard.breaks import breakable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("legal@example.org", "legal@example.org"),  # short: never broken at its dot
        ("see https://contracts.example/terms-of-supply",
         "see https://<wbr>contracts.<wbr>example/<wbr>terms-of-supply"),
        ("<b>https://x.example/&?a=1&b=2&c=3</b>",
         "&lt;b&gt;https://<wbr>x.<wbr>example/&amp;?<wbr>a=<wbr>1&amp;<wbr>b=<wbr>2&amp;"
         "<wbr>c=<wbr>3&lt;/<wbr>b&gt;"),  # a run of separators: one break, after it
        ("Vertragspruefung-" + "x" * 111, "Vertragspruefung-" + "x" * 111),  # nothing to break at
    ],
)  # fmt: skip
def test_a_long_word_breaks_after_its_separators_and_nothing_else_changes(
    text: str, shown: str
) -> None:
    assert str(breakable(text)) == shown
