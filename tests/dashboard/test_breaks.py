"""Where a long word may break (``breaks.breakable``): after a URL's separators, only in words
too long for a narrow column; the text escaped like any other. An id stays on one line
(``breaks.unbroken``), unless it is too long for a narrow column, and then it breaks after its
separators first; in a narrow column such a name is kept to the column (``breaks.narrow``)."""

from __future__ import annotations

import pytest

from stellwerk.dashboard.breaks import LONG, breakable, ids_whole, narrow, unbroken


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
        # a file's name and an address's domain stay whole: a dot breaks only before a slash
        ("/srv/deployments/stellwerk.yaml", "/<wbr>srv/<wbr>deployments/<wbr>stellwerk.yaml"),
        ("contract-review-oversight@legal.example.org",
         "contract-review-oversight@<wbr>legal.example.org"),
    ],
)  # fmt: skip
def test_a_long_word_breaks_after_its_separators_and_nothing_else_changes(
    text: str, shown: str
) -> None:
    assert str(breakable(text)) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("it-admin", '<span class="nowrap">it-admin</span>'),
        ("key-30cd4ffe5017", '<span class="nowrap">key-30cd4ffe5017</span>'),
        ("<a>-b", '<span class="nowrap">&lt;a&gt;-b</span>'),
        ("x" * (LONG - 1), f'<span class="nowrap">{"x" * (LONG - 1)}</span>'),
        ("contract-review-" * 8, "contract-review-" * 8),  # too long: it may break
        ("two words", "two words"),  # not one word: breaks between them
        # too long: it breaks after its slashes first, not inside "stellwerk"
        ("/work/walk8/demo/stellwerk.yaml",
         "/<wbr>work/<wbr>walk8/<wbr>demo/<wbr>stellwerk.yaml"),
    ],
)  # fmt: skip
def test_an_id_stays_on_one_line_unless_it_is_too_long(text: str, shown: str) -> None:
    assert str(unbroken(text)) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("contract-review", '<span class="nowrap">contract-review</span>'),
        ("a/" + "x" * LONG, f'<span class="narrow">a/<wbr>{"x" * LONG}</span>'),
    ],
)  # fmt: skip
def test_a_long_name_in_a_narrow_column_is_kept_narrow(text: str, shown: str) -> None:
    assert str(narrow(text)) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("zulässige Modelle: tiny-small, tiny-medium → tiny-small",
         'zulässige Modelle: <span class="nowrap">tiny-small,</span>'
         ' <span class="nowrap">tiny-medium</span> → <span class="nowrap">tiny-small</span>'),
        ("from: granted", "from: granted"),  # nothing a browser breaks inside a word
        ("a <b>-c", 'a <span class="nowrap">&lt;b&gt;-c</span>'),
        ("path: /srv/stellwerk/deployments/x.yaml",
         "path: /<wbr>srv/<wbr>stellwerk/<wbr>deployments/<wbr>x.yaml"),  # too long: its slashes
    ],
)  # fmt: skip
def test_ids_in_a_line_of_text_stay_whole_and_the_line_breaks_between_words(
    text: str, shown: str
) -> None:
    assert str(ids_whole(text)) == shown
