"""What a template may print: text and numbers, nothing else.

The templates' ``finalize`` hook sees every value an ``{{ ... }}`` prints. Printing anything but
text or a number is a template bug that would otherwise reach the page as a Python repr
(``<built-in method keys of dict object at 0x7f...>``, ``<bound method ...>``, ``Totals(...)``)
or as the word ``None``; here it stops the page with an error naming the value, like an
undefined name does (the templates use ``StrictUndefined``). A template that means "no value"
writes it (``{{ x or DASH }}``, ``fmt.number(None)``).
"""

from __future__ import annotations

from decimal import Decimal

from jinja2 import TemplateRuntimeError, Undefined


def printable(value: object) -> object:
    """``value`` if a template may print it; a ``TemplateRuntimeError`` otherwise."""
    if isinstance(value, Undefined):
        return value  # StrictUndefined raises when it is printed, naming the missing name
    if isinstance(value, str) or (
        isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    ):
        return value
    shown = repr(value)
    if len(shown) > 120:
        shown = shown[:119] + "…"
    raise TemplateRuntimeError(
        f"a template printed {type(value).__name__} {shown}: print text or a formatted number"
    )
