"""What a config leaves to a default that decides where data goes or who is served: a model
without ``hosting`` (counted as the least trusted location, and missing for the compliance check)
or without ``lifecycle`` (``approved``: served at once, without review). Both load; ``stellwerk
config check`` warns about them by name, so that an operator states them."""

from __future__ import annotations

from stellwerk.config.schema import StellwerkConfig


def unstated_warnings(config: StellwerkConfig) -> list[str]:
    """One warning per fact some models leave unstated, naming the models."""
    warnings = []
    hosting = [m.id for m in config.models if m.hosting is None]
    if hosting:
        warnings.append(
            f"models without hosting: {', '.join(hosting)}; they count as the least trusted"
            " location (only data that may go to every location reaches them, by default public"
            " data) and the compliance check lists hosting as missing: state hosting: on_prem,"
            " eu_cloud or non_eu_cloud"
        )
    # pydantic's fields set: the values the file gave, not the defaults filled in
    lifecycle = [m.id for m in config.models if "lifecycle" not in m.model_fields_set]
    if lifecycle:
        warnings.append(
            f"models without lifecycle: {', '.join(lifecycle)}; a model the catalog has not seen"
            " yet starts approved and is served at once, without review: state lifecycle:"
            " approved, or proposed to review it first"
        )
    return warnings
