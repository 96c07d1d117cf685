"""Supply chain: every dependency is pinned with hashes in requirements.lock, the lock covers
everything pyproject.toml asks for, and the environment is installed with hash checking.
Parsing only; no network."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}$")


def lock_entries(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (requirement line, its hash options); comments and blank lines are skipped."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        option = line.rstrip("\\").strip()
        if raw[0].isspace():
            assert current is not None, f"continuation line without a requirement: {raw!r}"
            entries[current][1].append(option)
            continue
        requirement = Requirement(option)
        current = canonicalize_name(requirement.name)
        assert current not in entries, f"{requirement.name} is locked twice"
        entries[current] = (option, [])
    return entries


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return [Requirement(spec) for spec in specs]


@pytest.fixture(scope="module")
def lock() -> dict[str, tuple[str, list[str]]]:
    return lock_entries((ROOT / "requirements.lock").read_text(encoding="utf-8"))


def test_every_locked_package_is_pinned_with_sha256_hashes(
    lock: dict[str, tuple[str, list[str]]],
) -> None:
    assert len(lock) > 50
    for name, (line, options) in lock.items():
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{name} is not pinned with ==: {line}"
        assert "*" not in specifier.version, f"{name} pins a wildcard: {line}"
        assert options, f"{name} has no --hash"
        for option in options:
            assert _HASH.fullmatch(option), f"{name}: not a sha256 hash option: {option}"


def test_every_declared_dependency_is_locked_in_its_range(
    lock: dict[str, tuple[str, list[str]]],
) -> None:
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{requirement} (pyproject.toml) is missing from requirements.lock"
        (pin,) = Requirement(lock[name][0]).specifier
        assert requirement.specifier.contains(Version(pin.version), prereleases=True), (
            f"requirements.lock pins {name}=={pin.version}, outside pyproject's {requirement}"
        )


def test_bootstrap_installs_the_lock_with_hash_checking() -> None:
    script = (ROOT / "scripts" / "bootstrap.py").read_text(encoding="utf-8")
    calls = [c for c in re.split(r"\brun\(", script)[1:] if '"-r"' in c.split(")")[0]]
    assert calls, "scripts/bootstrap.py installs nothing from a requirements file"
    for call in calls:
        assert '"--require-hashes"' in call.split(")")[0], f"pip without --require-hashes: {call}"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("pkg{i}>=1.0 \\\n    --hash=sha256:" + "a" * 64, "not pinned"),
        ("pkg{i}==1.0", "no --hash"),
        ("pkg{i}==1.0 \\\n    --hash=md5:abc", "not a sha256"),
    ],
)
def test_the_lock_check_catches_a_bad_lock(entry: str, problem: str) -> None:
    text = "\n".join(entry.format(i=i) for i in range(60)) + "\n"
    with pytest.raises(AssertionError, match=problem):
        test_every_locked_package_is_pinned_with_sha256_hashes(lock_entries(text))
