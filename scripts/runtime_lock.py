"""Print the part of requirements.lock that the gateway image needs, hashes included.

requirements.lock pins the whole development environment (the ``demo`` and ``dev`` extras too:
llama-cpp-python, pytest, Playwright ...). The image needs only the package's own dependencies
(``[project].dependencies`` of pyproject.toml) and its build backend (``[build-system].requires``),
with everything they pull in. This script follows the lock's ``# via`` notes from those roots and
prints their blocks unchanged, so that ``pip install --require-hashes`` checks every file against
the same hashes as the development environment. Used by deploy/Dockerfile:

    python scripts/runtime_lock.py requirements.lock pyproject.toml > runtime.lock
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PROJECT_NOTE = re.compile(r"\(pyproject\.toml\)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement.strip())
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return canonical(match.group(0))


def roots(pyproject: str) -> set[str]:
    data = tomllib.loads(pyproject)
    requirements = [*data["project"]["dependencies"], *data["build-system"]["requires"]]
    return {requirement_name(r) for r in requirements}


def _blocks(lock: str) -> tuple[str, dict[str, tuple[str, set[str]]]]:
    """(the header comment, {package: (its block, the packages it is pulled in by)})."""
    parts = re.split(r"\n(?=[A-Za-z0-9])", lock.strip("\n"))
    header = parts[0] if parts[0].startswith("#") else ""
    found: dict[str, tuple[str, set[str]]] = {}
    for block in parts[1:] if header else parts:
        via: set[str] = set()
        in_via = False
        for line in block.splitlines()[1:]:
            text = line.strip()
            if text.startswith("# via"):
                in_via = True
                text = text.removeprefix("# via").strip()
            elif in_via and text.startswith("#   "):
                text = text.removeprefix("#").strip()
            else:
                in_via = False
                continue
            if text and not _PROJECT_NOTE.search(text):
                via.add(requirement_name(text))
        found[requirement_name(block)] = (block, via)
    return header, found


def runtime_lock(lock: str, pyproject: str) -> str:
    """The lock's blocks of the roots and of everything they pull in, in the lock's order."""
    header, blocks = _blocks(lock)
    wanted = roots(pyproject)
    missing = sorted(wanted - set(blocks))
    if missing:
        raise ValueError("not in the lock: " + ", ".join(missing))
    changed = True
    while changed:
        changed = False
        for name, (_, via) in blocks.items():
            if name not in wanted and via & wanted:
                wanted.add(name)
                changed = True
    kept = [block for name, (block, _) in blocks.items() if name in wanted]
    note = "# The gateway image's part of requirements.lock (scripts/runtime_lock.py).\n"
    return note + (header + "\n" if header else "") + "\n".join(kept) + "\n"


def main() -> None:
    lock, pyproject = (Path(arg).read_text(encoding="utf-8") for arg in sys.argv[1:3])
    sys.stdout.write(runtime_lock(lock, pyproject))


if __name__ == "__main__":
    main()
