"""Model facts: the configurator's curated facts about open models (family, size, licence,
openness, languages, context, memory per quantisation, where to get them). Not the runtime model
catalog of a running gateway (``governance.catalog``)."""

from stellwerk.modelfacts.facts import (
    BITS_PER_WEIGHT,
    QUANTS,
    Benchmark,
    CatalogModel,
    Quant,
)
from stellwerk.modelfacts.loader import Catalog, load_catalog

__all__ = [
    "BITS_PER_WEIGHT",
    "QUANTS",
    "Benchmark",
    "Catalog",
    "CatalogModel",
    "Quant",
    "load_catalog",
]
