"""The options of ``stellwerk init`` that take more than a word, each read and checked: a
wrong one is a ``ConfigError`` naming the option and what it takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from stellwerk.errors import ConfigError

DEFAULT_CONTEXT = 8192
# the range of --context, as the configurator's (configurator.needs.MIN_CONTEXT, MAX_CONTEXT;
# not imported from there: the CLI starts without the configurator)
CONTEXT_LEAST = 512
CONTEXT_MOST = 1_048_576

if TYPE_CHECKING:
    from pathlib import Path

    from stellwerk.modelfacts import Catalog, Quant


def sizes(values: list[str]) -> dict[str, float]:
    """``--size MODEL=BILLIONS`` options as sizes by model name, each checked."""
    import math

    from stellwerk.cli.plain_number import is_plain

    sizes: dict[str, float] = {}
    for value in values:
        name, sep, number = value.rpartition("=")
        billions = float(number) if is_plain(number) else math.nan  # not 1_0, 1e3, ' 3
        if not sep or not name.strip() or not math.isfinite(billions) or billions <= 0:
            raise ConfigError(
                f"--size: {value!r} is not MODEL=BILLIONS (a model's name, '=', and its size in "
                "billions of parameters, a number above 0, e.g. tiny-small=3)"
            )
        if name.strip() in sizes:
            raise ConfigError(f"--size: {name.strip()!r} is given twice")
        sizes[name.strip()] = billions
    return sizes


def licences(value: str | None, catalog: Catalog) -> tuple[str, ...]:
    """``"osi"``, a list of licence names, or ``"any"``/nothing (every licence); each name one
    the catalog knows (case does not matter), else a ``ConfigError`` naming it and the closest
    known one (an unknown name would leave out every model, and the error would blame the
    languages or use cases)."""
    import difflib

    if value is None or value.strip().lower() == "any":
        return ()
    from stellwerk.configurator.needs import listed, once

    given = listed(value, "--licences")
    once("--licences", given, str.lower)
    wanted = tuple(item.lower() for item in given)
    known = {m.licence.strip().lower(): m.licence.strip() for m in catalog}
    known["osi"] = "osi"
    unknown = [name for name in wanted if name not in known]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            hints.append(f"{name!r}" + (f" (did you mean {known[close[0]]}?)" if close else ""))
        raise ConfigError(
            f"--licences: {', '.join(hints)} not in the catalog (licences: "
            f"{', '.join(sorted(set(known.values()) - {'osi'}, key=str.lower))}; osi for every "
            "OSI-approved one, any for all)"
        )
    return tuple(known[name] for name in wanted)  # as the catalog spells them


def families(value: str | None, catalog: Catalog) -> tuple[str, ...]:
    """Preferred families, each one the catalog knows (case does not matter)."""
    if value is None:
        return ()
    known = {m.family.lower(): m.family for m in catalog}
    from stellwerk.configurator.needs import listed, once

    given = listed(value, "--prefer-families")
    once("--prefer-families", given, str.lower)
    wanted = tuple(item.lower() for item in given)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ConfigError(
            f"--prefer-families: {', '.join(repr(n) for n in unknown)} not in the catalog "
            f"(families: {', '.join(sorted(set(known.values())))})"
        )
    return wanted


def quant(value: str | None) -> Quant | None:
    from stellwerk.errors import ConfigError
    from stellwerk.modelfacts import QUANTS

    if value is None:
        return None
    for quant in QUANTS:
        if value.strip().lower() == quant:
            return quant
    raise ConfigError(f"--quant: {value!r} is not one of {', '.join(QUANTS)}")


def context(value: int | None, use_cases: Sequence[str]) -> int:
    """The context window to serve: ``--context`` as given, else the default (raised to what the
    ``long_documents`` use case needs). A given one below what a use case needs is refused,
    naming both and the ways out: raised silently, the models would be served with (and their
    memory computed for) a context the user did not ask for."""
    from stellwerk.configurator.needs import LONG_DOCUMENT_TOKENS

    floor = LONG_DOCUMENT_TOKENS if "long_documents" in use_cases else 0
    if value is None:
        return max(DEFAULT_CONTEXT, floor)
    if floor and value < floor:  # a value below 512 is the range check's (Needs)
        raise ConfigError(
            f"--context {value} is shorter than the {floor} tokens the long_documents use case "
            f"needs: give --context {floor} or more (or leave --context out: {floor} is then "
            "served), or leave long_documents out of --use-cases"
        )
    return value


def engine_host(value: str) -> str:
    """``--engine-host``: a host name, an IPv4 address or an IPv6 address in brackets. It is
    written into the config's backend URLs and into the engine script's commands, so anything
    else (a space, a quote, a line break) is refused rather than written."""
    import ipaddress
    import re

    if value.startswith("[") and value.endswith("]"):
        try:
            ipaddress.IPv6Address(value[1:-1])
        except ValueError:
            pass
        else:
            return value
    if re.fullmatch(r"[0-9.]+", value):  # digits and dots: an IPv4 address, or nothing
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise ConfigError(
                f"--engine-host: {value!r} is not an IPv4 address (four numbers from 0 to 255,"
                " without leading zeros, e.g. 127.0.0.1) nor a host name; give the name or"
                " address the gateway reaches the engine at"
            ) from None
        return value
    label = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    if len(value) <= 253 and re.fullmatch(rf"{label}(?:\.{label})*", value):
        return value
    hint = " (an IPv6 address goes in brackets: [::1])" if ":" in value else ""
    raise ConfigError(
        f"--engine-host: {value!r} is not a host name or an IP address{hint}; give the name or "
        "address the gateway reaches the engine at, e.g. 127.0.0.1 or ollama"
    )


def conflicts(
    *,
    gpu_memory: float | None,
    ram: float | None,
    quant: str | None,
    engine: str | None,
    discover: str | None,
) -> None:
    """Options that contradict each other, refused rather than one silently dropped. ``engine``
    is None when it is still to be asked (``Needs`` checks the answer)."""
    if gpu_memory is not None and ram is not None:
        raise ConfigError(
            "--gpu-memory and --ram: give one: --gpu-memory GB when the models run on GPUs, "
            "--ram GB when they run on the CPU"
        )
    from stellwerk.modelfacts import QUANTS

    if quant is None or quant.strip().lower() not in QUANTS:
        return  # no --quant, or one that is not a quantisation: named as a bad value
    if discover is not None:
        raise ConfigError(
            f"--quant {quant} does not apply to --discover: the server already serves its "
            "models at the quantisation they have; leave --quant out"
        )
    if engine is not None and engine.strip().lower() == "ollama":
        from stellwerk.configurator.needs import ollama_quant_refusal

        raise ConfigError(ollama_quant_refusal(quant))
    if engine is not None and engine.strip().lower() == "vllm" and quant.strip().lower() != "f16":
        from stellwerk.configurator.needs import vllm_quant_refusal

        raise ConfigError(vllm_quant_refusal(quant.strip().lower()))


def discover_only(discover: str | None, *, hosting: str | None, approve: bool | None) -> None:
    """``--discover-hosting`` and ``--discover-approve`` say something of a discovered server:
    without ``--discover`` there is none (the engine script's models run on_prem and are
    approved), so either is refused rather than ignored."""
    given = [
        name
        for name, value in (("--discover-hosting", hosting), ("--discover-approve", approve))
        if value is not None
    ]
    if discover is None and given:
        raise ConfigError(
            f"{' and '.join(given)} only {'apply' if len(given) > 1 else 'applies'} with "
            "--discover URL (a server that already runs "
            "its models); a proposed set runs on the engine script's machines, on_prem, and is "
            "approved"
        )


def output(path: Path) -> Path:
    """``--output``: a file's path whose folder is one (or can be made). A folder given as the
    file, or a path through a file, is named here, before anything is proposed; what only the
    writing can tell (no permission, a read-only file system) is named when it fails."""
    if path.is_dir():
        raise ConfigError(
            f"--output: {path} is a folder; give the config file's name, e.g. "
            f"{path / 'stellwerk.yaml'}; nothing written"
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"--output: {parent} is a file, not a folder; nothing written")
            break
    return path


def department(value: str) -> str:
    """``--department``: the name of the first department, which also names its key
    (``NAME-key``) and its use case (``NAME-assistant``); each must be a name the config takes,
    so the name is checked here, before anything is proposed, in the option's own words."""
    import re

    from stellwerk.configurator.writer import use_case_name

    longest = 128 - len(use_case_name(""))
    if not re.fullmatch(rf"[A-Za-z0-9][A-Za-z0-9._/-]{{0,{longest - 1}}}", value):
        raise ConfigError(
            f"--department: {value!r} cannot name a department: use ASCII letters, digits and"
            f" . _ / - (starting with a letter or digit, at most {longest} characters), as it "
            f"also names its key ({value + '-key'!r}) and its use case ({use_case_name(value)!r})"
        )
    return value
