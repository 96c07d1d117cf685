"""Catalog: curated facts about open models (family, size, licence, openness, languages,
context, memory per quantisation, where to get them)."""

from stellwerk.catalog.facts import (
    BITS_PER_WEIGHT,
    QUANTS,
    Benchmark,
    CatalogModel,
    Quant,
)
from stellwerk.catalog.loader import Catalog, load_catalog

__all__ = [
    "BITS_PER_WEIGHT",
    "QUANTS",
    "Benchmark",
    "Catalog",
    "CatalogModel",
    "Quant",
    "load_catalog",
]
