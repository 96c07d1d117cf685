"""The config ``stellwerk demo`` writes: prices exactly as decimals (no float noise), and every
model compliant from the start (the demo's own tiny models carry Stellwerk's licence)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from stellwerk.config.loader import load_config
from stellwerk.demo.config import new_demo_keys, write_demo_config
from stellwerk.policy.compliance import non_compliant


def test_the_demo_config_writes_prices_exactly_and_starts_compliant(tmp_path: Path) -> None:
    path = write_demo_config(tmp_path, "http://127.0.0.1:1", new_demo_keys(), host="h", port=1)
    text = path.read_text(encoding="utf-8")
    prices = re.findall(r"_per_mtok: (\S+)", text)
    assert prices == ["0.1", "0.3", "0.25", "0.75", "0.6", "1.8"]
    config = load_config(path)
    by_id = {m.id: m for m in config.models}
    assert by_id["tiny-small"].price is not None
    assert Decimal(str(by_id["tiny-small"].price.output_per_mtok)) == Decimal("0.3")
    assert non_compliant(config.models, config.use_cases, config.governance) == []
    assert all(m.licence == "Apache-2.0" for m in config.models)


def test_a_demo_folder_with_a_line_break_or_a_space_stays_in_its_comment(tmp_path: Path) -> None:
    """The header's example command names the folder: quoted for the shell, on its line."""
    import shlex

    import yaml

    folder = tmp_path / "a b\nrouter: {kind: first}"
    folder.mkdir()
    path = write_demo_config(folder, "http://127.0.0.1:1", new_demo_keys(), host="h", port=1)
    assert "router" not in yaml.safe_load(path.read_text(encoding="utf-8"))
    example = next(line for line in path.read_text().splitlines() if "keys list -c" in line)
    assert shlex.split(example.removeprefix("#"))[-1] == str(path).replace("\n", "\\u000a")
