"""The JSON Schema keywords whose values hold schemas: where a walk of a schema goes deeper.

One list for the gateway's check of a schema's shape (``stellwerk.gateway.schema_shape``) and the
rewrite of its patterns for the model servers (``stellwerk.backends.portable_patterns``), so that
both walk the same parts. ``items`` is either: one schema, or (draft 4, where ``prefixItems``
did not exist yet) a list of them.
"""

from __future__ import annotations

#: keywords whose value is one schema
ONE = frozenset(
    {
        "additionalItems",
        "additionalProperties",
        "contains",
        "else",
        "if",
        "not",
        "propertyNames",
        "then",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
#: keywords whose value maps names to schemas (``patternProperties``: regular expressions)
NAMED = frozenset({"$defs", "definitions", "dependentSchemas", "patternProperties", "properties"})
#: keywords whose value is a non-empty list of schemas
SOME = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
#: one schema, or a list of schemas
ITEMS = "items"
