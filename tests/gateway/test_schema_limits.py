"""The gateway's check of an answer's schema refuses, naming the place, what would stop or hang
the model servers and cannot be left out: a ``minLength`` or ``minItems`` over the 1000 repeats
llama-cpp-python's converter writes out, a ``$ref`` to no part of the schema and a recursive
schema (a reference cycle segfaulted the server; ``$ref: "#"`` had the schema dropped)."""

from __future__ import annotations

import pytest

from stellwerk.gateway.schema_shape import schema_problem

_CYCLE = {
    "type": "object",
    "properties": {"v": {"$ref": "#/$defs/A"}},
    "required": ["v"],
    "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}},
}
_NODE = {  # pydantic's schema of class Node(BaseModel): name: str; children: list["Node"]
    "$defs": {
        "Node": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
            },
        }
    },
    "$ref": "#/$defs/Node",
}
_RECURSIVE = (
    "leads into a reference cycle (a recursive schema); recursive schemas are not supported"
)


@pytest.mark.parametrize(
    ("schema", "said"),
    [
        (
            {"properties": {"v": {"type": "string", "minLength": 2000}}},
            "schema.properties.v.minLength: 2000 is more than the 1000 repeats",
        ),
        ({"type": "array", "minItems": 1001}, "schema.minItems: 1001 is more than the 1000"),
        (_CYCLE, f"schema.properties.v.$ref: '#/$defs/A' {_RECURSIVE}"),
        (
            {"properties": {"c": {"type": "array", "items": {"$ref": "#"}}}},
            f"schema.properties.c.items.$ref: '#' {_RECURSIVE}",
        ),
        (_NODE, f"schema.$defs.Node.properties.children.items.$ref: '#/$defs/Node' {_RECURSIVE}"),
        (
            {"properties": {"v": {"$ref": "#/$defs/nope"}}},
            "schema.properties.v.$ref: '#/$defs/nope' points at no part of the schema",
        ),
        (
            {"anyOf": [{"$ref": "#/definitions/a"}], "$defs": {"a": {}}},
            "schema.anyOf.0.$ref: '#/definitions/a' points at no part of the schema",
        ),
    ],
)
def test_what_the_servers_cannot_take_is_refused_naming_the_place(
    schema: dict[str, object], said: str
) -> None:
    assert str(schema_problem(schema, "schema")).startswith(said)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "uri", "minLength": 1, "maxLength": 2083},  # HttpUrl
        {"type": "array", "maxItems": 3000, "minItems": 1000},
        {
            "$defs": {"a": {"type": "string"}, "b": {"properties": {"x": {"$ref": "#/$defs/a"}}}},
            "properties": {"p": {"$ref": "#/$defs/b"}, "q": {"$ref": "#/$defs/b"}},
        },
        {"properties": {"a~b/c": {"type": "string"}, "v": {"$ref": "#/properties/a~0b~1c"}}},
    ],
)
def test_ordinary_schemas_pass(schema: dict[str, object]) -> None:
    assert schema_problem(schema, "schema") is None


def test_a_long_chain_of_references_is_no_cycle_and_no_crash() -> None:
    defs: dict[str, object] = {f"A{i}": {"$ref": f"#/$defs/A{i + 1}"} for i in range(3000)}
    defs["A3000"] = {"type": "string"}
    schema = {"properties": {"v": {"$ref": "#/$defs/A0"}}, "$defs": defs}
    assert schema_problem(schema) is None
    defs["A3000"] = {"$ref": "#/$defs/A0"}
    assert "reference cycle" in str(schema_problem(schema))
