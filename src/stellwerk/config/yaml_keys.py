"""YAML as the config reads it: a mapping that gives a key twice is refused.

PyYAML keeps the last of two equal keys without a word, so a config with a second ``router:``
block (added at the end of a file that had one) lost the whole first block, shadow grading with
it, and ``stellwerk config check`` called the file valid. The config refuses it instead, naming
the key and both lines.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node


class _UniqueKeys(yaml.SafeLoader):
    """PyYAML's safe loader, with every mapping's keys checked for repeats."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Node] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int | float | bool) and key in seen:
                    first = seen[key].start_mark.line + 1
                    raise ConstructorError(
                        None,
                        None,
                        f"key {key!r} is given twice (first on line {first}); the second would"
                        " replace the first: give each key once",
                        key_node.start_mark,
                    )
                if isinstance(key, str | int | float | bool):
                    seen[key] = key_node
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


def load_yaml(text: str) -> Any:
    """``text`` read as ``yaml.safe_load`` reads it; a key given twice in a mapping is a
    ``yaml.YAMLError`` naming it."""
    return yaml.load(text, Loader=_UniqueKeys)  # a SafeLoader: no Python objects
