"""The words of a refusal reason on the dashboard (the ``error_kind`` a usage record keeps).

A reason is looked up as the label ``refusal_<reason>``. A request that no allowed model could
serve is recorded with what it needed (``no_capable_model:chat,thinking``:
``gateway.selection``), and is said with those capabilities in the page's language ("no model
can do what it needed: chat, thinking"); records written before kept ``no_capable_model`` alone,
said without them. A reason with no label is shown as it is."""

from __future__ import annotations

from typing import Final

from stellwerk.dashboard.i18n import Labels

NO_CAPABLE: Final = "no_capable_model"


def refusal_label(t: Labels, reason: str, *, named: bool = False) -> str:
    """``reason`` in the page's words; ``named``: on a model's page, where a key told a model
    does not exist asked for one it may not see."""
    if named and reason == "model_not_found":
        return t["refusal_hidden_model"]
    code, _, needs = reason.partition(":")
    if code == NO_CAPABLE and needs:
        words = ", ".join(
            t(f"capability_{c}") if f"capability_{c}" in t else c for c in needs.split(",")
        )
        return t["refusal_no_capable_model_needs"].format(needs=words)
    label = f"refusal_{reason}"
    return t[label] if label in t else reason or t["refusal_unknown"]
