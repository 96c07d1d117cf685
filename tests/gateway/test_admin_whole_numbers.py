"""The admin API's whole-number query parameters (``GET /admin/audit?limit=``, ``after=``) take
the digits 0 to 9 only, as the CLI's options and a month (``config.plain_number``): pydantic's
lax integer read ``limit=3_0`` as 30 and ``limit=%203`` or ``limit=3.0`` as 3. (The JSON
bodies' integers are strict: ``"max_tokens": "٣"``, like ``"3"``, is a 400 naming the field on
every chat endpoint, ``options.num_predict`` on Ollama's, as ``tests/gateway/test_bad_input.py``
checks for ``"many"``.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.gateway import Gateway, in_process
from tests.gateway.test_head import ADMIN, ENV, headed


@pytest.fixture
def gateway(sqlite_url: str) -> Iterator[Gateway]:
    with in_process(headed(sqlite_url), ENV) as gw:
        yield gw


@pytest.mark.parametrize("param", ["limit", "after"])
@pytest.mark.parametrize(
    ("sent", "read"),
    [("%EF%BC%93", "\uff13"), ("%D9%A3", "\u0663"), ("%203", " 3"), ("3_0", "3_0"),
     ("3.0", "3.0"), ("3%20", "3 ")],
    ids=["fullwidth", "arabic", "blank-before", "_", ".0", "blank-after"],
)  # fmt: skip
def test_a_whole_number_in_the_query_is_ascii_digits_only(
    gateway: Gateway, param: str, sent: str, read: str
) -> None:
    answer = gateway.get(f"/admin/audit?{param}={sent}", headers=ADMIN)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == {
        "message": f"{param}: {read!r} is not a whole number (the digits 0 to 9, no spaces)",
        "type": "invalid_request_error",
        "param": param,
        "code": "invalid_request",
    }
    assert gateway.get(f"/admin/audit?{param}=2", headers=ADMIN).status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "limit: 0 is less than 1, the least it may be"),
        ("limit=-3", "limit: -3 is less than 1, the least it may be"),
        ("after=-1", "after: -1 is less than 0, the least it may be"),
        ("limit=" + "9" * 5000, "limit: 999999999999... (5000 characters) is more than"),
        ("after=-" + "9" * 5000, "after: -99999999999... (5001 characters) is less than 0"),
    ],
)
def test_a_whole_number_out_of_its_bounds_is_named_with_its_bound(
    gateway: Gateway, query: str, message: str
) -> None:
    """In the words of every refusal of a bound (the CLI's options, the limits); pydantic said
    ``limit: Input should be greater than or equal to 1``."""
    answer = gateway.get(f"/admin/audit?{query}", headers=ADMIN)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["message"].startswith(message), error
    assert error["param"] == query.partition("=")[0]
    assert "Input should" not in error["message"]
