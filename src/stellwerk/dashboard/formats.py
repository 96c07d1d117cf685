"""Numbers, money and times written the way each language writes them.

Every amount of money on the dashboard goes through :meth:`Formatter.money`, whatever number
type it arrives as (``float`` from the rollups, ``Decimal`` or ``int`` from the ledger and the
admin API): it carries the currency (``governance.currency``) and enough decimals to show a
small amount as more than zero. Amounts shown together, a table's rows and their total, are
written with one number of decimals (:meth:`Formatter.places`): the fewest that show each of
them exactly, so the rows add up to the total as shown. A number and its unit (currency,
``Wh``, ``kWh``, ``ms``, ``s``, ``%``, ``Tsd.``) are joined by a no-break space (:data:`NBSP`):
a browser never puts the unit on a line of its own, whatever the width of the tile or cell. Times
are shown in the operator's zone (``dashboard.timezone``, else the server's own), each with the
zone's abbreviation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Final, Literal

from stellwerk.governance.report import ENERGY_DECIMALS  # micro-watt-hours, as reports keep

Language = Literal["en", "de"]
DASH: Final = "\u2013"  # shown for a missing value
NBSP: Final = "\u00a0"  # between a number and its unit: the line never breaks there

Amount = float | int | Decimal

MONTHS: Final[dict[Language, tuple[str, ...]]] = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "de": (
        "Januar", "Februar", "März", "April", "Mai", "Juni",
        "Juli", "August", "September", "Oktober", "November", "Dezember",
    ),
}  # fmt: skip

SYMBOLS: Final[dict[str, str]] = {"EUR": "€", "USD": "$", "GBP": "£"}
MAX_MONEY_DECIMALS: Final = 6  # micro-units: the ledger's finest unit of money
SMALLEST: Final = Decimal(1).scaleb(-MAX_MONEY_DECIMALS)
USED_SMALLEST: Final = 0.001  # 0.1 %: a limit's share used is shown with one decimal


def _decimal(value: Amount) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(float(value)))  # the shortest decimal that reads back as the float


def money_decimals(value: Decimal) -> int:
    """Two decimals; below one, as many as show its first two significant digits (at most
    six): 0.0005 is 0.0005, not 0.00."""
    size = abs(value)
    if size == 0 or size >= 1:
        return 2
    first = -size.adjusted()  # 0.0005 -> 4 (the position of its first non-zero digit)
    return max(2, min(MAX_MONEY_DECIMALS, first + 1))


@dataclass(frozen=True, slots=True)
class Formatter:
    """Numbers and times for one language: ``1,234.5`` in English, ``1.234,5`` in German.

    ``currency``: the ISO 4217 code of internal prices; ``zone``: the time zone of the page's
    times (``None``: the server's local zone)."""

    language: Language
    currency: str = "EUR"
    zone: tzinfo | None = None

    def number(self, value: Amount | None, decimals: int = 0) -> str:
        if value is None:
            return DASH
        if not isinstance(value, Decimal) and math.isinf(value):
            return "∞"
        text = f"{value:,.{decimals}f}"
        if self.language == "de":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    def compact(self, value: float) -> str:
        """Large counts shortened: 1.2M, 34.5k (Mio., Tsd. in German)."""
        big, mid = ("Mio.", "Tsd.") if self.language == "de" else ("M", "k")
        if abs(value) >= 1e6:
            return f"{self.number(value / 1e6, 1)}{NBSP}{big}"
        if abs(value) >= 1e4:
            return f"{self.number(value / 1e3, 1)}{NBSP}{mid}"
        return self.number(value)

    def money(self, value: Amount | None, places: int | None = None) -> str:
        """An amount with its currency: ``€12.50``, ``12,50 €``; small amounts keep their
        first two significant digits (``€0.0005``); below a micro-unit ``< €0.000001``. Every
        space in it is a no-break space. ``places``: the decimals of the amounts it is shown
        with (:meth:`places`), trailing zeros kept (``€0.000800`` beside ``€0.000044``)."""
        if value is None:
            return DASH
        exact = _decimal(value)
        if 0 < abs(exact) < SMALLEST:
            return "<" + NBSP + self._with_currency(self.number(SMALLEST, MAX_MONEY_DECIMALS))
        if places is not None:
            return self._with_currency(self.number(exact, places))
        return self._money(exact, money_decimals(exact))

    @staticmethod
    def places(*groups: Iterable[Amount | None]) -> int:
        """The decimals of amounts shown together (a table's rows and their total, a page's
        costs): the fewest, from two to six, that write each of them exactly to the micro-unit,
        the ledger's unit (a float is taken to the micro-unit first, which drops its binary
        noise). Rows written so add up to their total as written: €0.000136 + €0.000108 =
        €0.000244, where two significant digits each read €0.00014 + €0.00011 and €0.00024."""
        decimals = 2
        for group in groups:
            for value in group:
                if value is None or (not isinstance(value, Decimal | int) and math.isinf(value)):
                    continue
                exact = _decimal(value).quantize(SMALLEST).normalize()
                exponent = exact.as_tuple().exponent
                if exact and isinstance(exponent, int):
                    decimals = max(decimals, min(MAX_MONEY_DECIMALS, -exponent))
        return decimals

    def exact_money(self, value: Amount | None) -> str:
        """An amount as ``money`` writes it, but with every decimal it has up to the
        micro-unit (a budget to confirm, one an audit entry changed): ``€123,456,789,012.345678``
        where ``money`` would write ``€123,456,789,012.35`` and a change by a micro-unit would
        read as none; ``€300.00`` still."""
        if value is None:
            return DASH
        exact = _decimal(value)
        exponent = exact.normalize().as_tuple().exponent
        if not isinstance(exponent, int) or 0 < abs(exact) < SMALLEST:
            return self.money(exact)
        places = min(MAX_MONEY_DECIMALS, -exponent)
        return self._money(exact, max(money_decimals(exact), places))

    def _money(self, exact: Decimal, decimals: int) -> str:
        text = self.number(exact, decimals)
        point = "," if self.language == "de" else "."
        if decimals > 2:  # 0.000500 -> 0.0005, but never fewer than two decimals
            head, _, tail = text.rpartition(point)
            text = f"{head}{point}{tail.rstrip('0').ljust(2, '0')}"
        return self._with_currency(text)

    def _with_currency(self, text: str) -> str:
        symbol = SYMBOLS.get(self.currency)
        if self.language == "de":
            return f"{text}{NBSP}{symbol or self.currency}"
        if symbol is None:
            return f"{self.currency}{NBSP}{text}"
        if text.startswith("-"):
            return f"-{symbol}{text[1:]}"
        return f"{symbol}{text}"

    def percent(self, fraction: float | None, decimals: int = 0) -> str:
        if fraction is None:
            return DASH
        return f"{self.number(100 * fraction, decimals)}{NBSP}%"

    def used(self, fraction: float | None) -> str:
        """The share of a limit used (a budget), one decimal; a share above zero that would
        round to it reads ``< 0.1 %`` (``< 0,1 %``): money spent is never "0.0 % used"."""
        if fraction is not None and 0 < fraction < USED_SMALLEST:
            return f"<{NBSP}{self.percent(USED_SMALLEST, 1)}"
        return self.percent(fraction, 1)

    def ms(self, value: float | None) -> str:
        if value is None:
            return DASH
        if value >= 10_000:
            return f"{self.number(value / 1000, 1)}{NBSP}s"
        return f"{self.number(value)}{NBSP}ms"

    def energy(self, wh: float) -> str:
        """Watt-hours with two decimals (kWh from 1,000), and below 0.1 Wh with two significant
        digits (a tiny model's requests use thousandths of a Wh: not 0.00)."""
        size = abs(wh)
        if size >= 1000:
            return f"{self.number(wh / 1000, 2)}{NBSP}kWh"
        if size >= 0.1 or size == 0:
            return f"{self.number(wh, 2)}{NBSP}Wh"
        decimals = min(ENERGY_DECIMALS, 1 - math.floor(math.log10(size)))
        return f"{self.number(wh, decimals)}{NBSP}Wh"

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the page's zone (the server's local zone without one)."""
        return moment.astimezone(self.zone) if self.zone is not None else moment.astimezone()

    def zone_name(self, moment: datetime | None = None) -> str:
        """The zone the page's times are in: its IANA name when configured, else the local
        zone's abbreviation now (``CET``, ``UTC``)."""
        key = getattr(self.zone, "key", None)
        if isinstance(key, str):
            return key
        return self.local(moment or datetime.now().astimezone()).tzname() or "local time"

    def when(self, moment: datetime | None) -> str:
        """A moment in the page's zone, with the zone's abbreviation (``CET``, ``CEST``)."""
        if moment is None:
            return DASH
        here = self.local(moment)
        pattern = "%d.%m.%Y %H:%M" if self.language == "de" else "%Y-%m-%d %H:%M"
        return f"{here.strftime(pattern)} {here.tzname() or ''}".rstrip()

    def month(self, month: str) -> str:
        """A month ``YYYY-MM`` as the language names it: ``December 2026``, ``Dezember 2026``."""
        year, _, number = month.partition("-")
        return f"{MONTHS[self.language][int(number) - 1]} {year}"

    def day(self, moment: datetime) -> str:
        """A day of the rollups (whole UTC days, so shown as the date it is, not converted)."""
        return moment.strftime("%d.%m." if self.language == "de" else "%m-%d")
