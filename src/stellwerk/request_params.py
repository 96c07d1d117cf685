"""The text a client sends in a request's path and query string, checked once before a handler
looks anything up with it: the admin API's parameters (a key id, a use case's name, the audit
log's filters) and the dashboard's (the model, department or key of a page or an action).

No name, key id, model id or audit filter holds a character a terminal or a page does not show
as itself (``config.plain_text``: a control character, NUL included, a separator, a direction
mark, an invisible one): a parameter that holds one is refused with a 400 naming it, by the rule
of an audit reason (``governance.reason.HiddenCharacter``): ``the query parameter target
contains the control character U+0000; write it on one line of plain text``. Looked up instead,
a NUL (``%00``) was a 500 on PostgreSQL, whose text cannot hold one, where SQLite found nothing.
"""

from __future__ import annotations

from starlette.requests import Request

from stellwerk.config.plain_text import first_hidden
from stellwerk.governance.reason import HiddenCharacter


def refuse_hidden(request: Request) -> None:
    """A ``HiddenCharacter`` (400) naming the first path or query parameter of ``request``
    whose value holds a character a terminal or a page does not show as itself."""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            _plain(value, param=name, what=f"{name} in the path")
    for name, value in request.query_params.multi_items():
        _plain(value, param=name, what=f"the query parameter {name}")


def _plain(value: str, *, param: str, what: str) -> None:
    found = first_hidden(value)
    if found is not None:
        raise HiddenCharacter(what, *found, param=param)
