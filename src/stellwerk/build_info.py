"""Which build this is: what ``stellwerk version`` prints and ``stellwerk serve`` starts with.

The package's version alone (``0.1.0``) is the same for every build between two releases, so an
operator could not tell which build wrote a ledger (walk28 F3). The line adds what tells builds
apart: the git commit when the package runs from a checkout (``12 hex digits``, ``+changes``
when tracked files differ from it), and the ledger schema revision this build migrates to and
expects: a build refuses a ledger at a revision it does not know (``stellwerk.ledger.migrate``).

    Stellwerk 0.1.0 (commit b846676f1a2c+changes), ledger schema 1400_model_client_latency

Nothing runs at import; git is asked only when ``describe`` is called, and a missing git, a copy
that is no checkout (an installed wheel) or a slow answer just leave the commit out. The schema
revision is read from the migration files themselves, without Alembic.
"""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

from stellwerk import __version__

#: the checkout's root when the package runs from one: ``<root>/src/stellwerk/build_info.py``
_ROOT = Path(__file__).resolve().parents[2]
_GIT_TIMEOUT_S = 5.0
_VERSIONS = Path(__file__).resolve().parent / "ledger" / "migrations" / "versions"
_REVISION = re.compile(r"^revision(?:\s*:[^=\n]*)?\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=\n]*)?\s*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


def package_version() -> str:
    """The installed distribution's version, or the package's own when not installed."""
    try:
        return metadata.version("stellwerk")
    except metadata.PackageNotFoundError:
        return __version__


def commit(root: Path = _ROOT) -> str | None:
    """The checkout's commit (12 hex digits, ``+changes`` when a tracked file differs from it),
    or ``None`` when ``root`` is no git checkout or git cannot say."""
    if not (root / ".git").exists() or not (root / "src" / "stellwerk").is_dir():
        return None
    try:
        head = _git(root, "rev-parse", "--short=12", "HEAD")
        changed = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    if not head:
        return None
    return head + ("+changes" if changed else "")


def schema_revision(versions: Path = _VERSIONS) -> str:
    """The newest revision of the ledger's migrations: the one no other revision names as its
    ``down_revision``. Read from the migration files' text, as Alembic reads the same lines, so
    that ``stellwerk version`` starts without Alembic and SQLAlchemy (tests/cli/test_start.py)."""
    revisions: set[str] = set()
    below: set[str] = set()
    for script in versions.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(text))
        for named in _DOWN_REVISION.findall(text):
            below.update(_QUOTED.findall(named))
    heads = sorted(revisions - below)
    return heads[0] if len(heads) == 1 else "unknown (" + ", ".join(heads) + ")"


def describe(root: Path = _ROOT) -> str:
    """The one line naming this build (the module docstring)."""
    made = commit(root)
    where = f" (commit {made})" if made else ""
    return f"Stellwerk {package_version()}{where}, ledger schema {schema_revision()}"


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        timeout=_GIT_TIMEOUT_S,
        check=True,
    )
    return done.stdout.strip()
