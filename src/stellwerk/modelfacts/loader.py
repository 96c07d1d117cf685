"""Reading the catalog: the packaged ``open_models.yaml`` or a file the operator names."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import yaml
from pydantic import Field, ValidationError, model_validator

from stellwerk.config.base import Strict
from stellwerk.errors import ConfigError
from stellwerk.modelfacts.facts import CatalogModel

PACKAGED = "open_models.yaml"


class Catalog(Strict):
    """All entries, ids, Ollama tags and Hugging Face ids each unique."""

    version: int = Field(ge=1, le=1)
    models: tuple[CatalogModel, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        for field in ("id", "ollama_tag", "hf_id"):
            seen: set[str] = set()
            for model in self.models:
                value = getattr(model, field)
                if value is None:
                    continue
                if value.lower() in seen:
                    raise ValueError(f"models: {field} {value!r} is used twice")
                seen.add(value.lower())
        return self

    def __iter__(self) -> Iterator[CatalogModel]:  # type: ignore[override]
        return iter(self.models)

    def get(self, model_id: str) -> CatalogModel:
        for model in self.models:
            if model.id == model_id:
                return model
        raise KeyError(model_id)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate a catalog; every problem is a ``ConfigError`` naming the file."""
    if path is None:
        source = f"stellwerk/modelfacts/{PACKAGED}"
        text = resources.files("stellwerk.modelfacts").joinpath(PACKAGED).read_text("utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read the catalog ({exc.strerror})") from exc
    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        holds = "is empty" if raw is None else f"holds {_kind(raw)}, not a mapping"
        raise ConfigError(
            f"{source}: not a catalog: the file {holds}; a catalog is a YAML mapping with "
            f"version: 1 and models: (a list of entries, as stellwerk/modelfacts/{PACKAGED})"
        )
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            f"{source}: invalid catalog:\n  " + "\n  ".join(_problems(exc, raw))
        ) from exc


def _problems(exc: ValidationError, raw: object) -> list[str]:
    """One line per problem, an entry named by its index and its id (``models.3 (apertus-8b)
    .name: ...``). pydantic also reports an empty ``models`` when every entry failed; that line
    is left out when an entry's own problem is named (the file did list entries)."""
    errors = exc.errors()
    entry_failed = any(len(err["loc"]) > 1 and err["loc"][0] == "models" for err in errors)
    problems = []
    for err in errors:
        loc = err["loc"]
        if entry_failed and loc == ("models",) and err["type"] == "too_short":
            continue
        where = ".".join(str(part) for part in loc)
        if len(loc) > 1 and loc[0] == "models" and isinstance(loc[1], int):
            named = _entry_id(raw, loc[1])
            rest = "".join(f".{part}" for part in loc[2:])
            where = f"models.{loc[1]}" + (f" ({named})" if named else "") + rest
        message = {"extra_forbidden": "unknown key", "missing": "missing"}.get(
            err["type"], err["msg"]
        )
        problems.append(f"{where}: {message.removeprefix('Value error, ')}")
    return problems


def _kind(raw: object) -> str:
    """What a YAML document that is not a mapping holds, in words."""
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, str):
        return "text"
    return "a number" if isinstance(raw, int | float) else "a single value"


def _entry_id(raw: object, index: int) -> str | None:
    """The id an entry gives, shown as the catalog's ids are written (else None)."""
    if not isinstance(raw, dict):
        return None
    models = raw.get("models")
    if not isinstance(models, list) or index >= len(models) or not isinstance(models[index], dict):
        return None
    entry_id = models[index].get("id")
    return repr(entry_id) if isinstance(entry_id, str) else None
