"""The front door stays true: every setting is documented where operators look."""

from __future__ import annotations

import re
from pathlib import Path

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _env_names() -> list[str]:
    return [f"MAKERBUS_{name.upper()}" for name in Settings.model_fields]


def test_env_example_lists_every_setting() -> None:
    example = (ROOT / ".env.example").read_text()

    assert [name for name in _env_names() if name not in example] == []


def _documented(name: str, lines: list[str]) -> bool:
    """Listed in full, or as the second of a pair on one row: `MAKERBUS_X_HOST` / `_PORT`."""
    stem, last = name.rsplit("_", 1)
    return any(name in line or (f"{stem}_" in line and f"`_{last}`" in line) for line in lines)


def test_readme_configuration_table_names_every_setting() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()

    assert [name for name in _env_names() if not _documented(name, lines)] == []


def _readme_code_blocks() -> list[list[str]]:
    blocks: list[list[str]] = []
    inside = False
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            inside = not inside
            if inside:
                blocks.append([])
        elif inside:
            blocks[-1].append(line)
    return blocks


def test_readme_links_stay_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)]+)\)", readme)
    local = [t for t in targets if not t.startswith(("http://", "https://", "#"))]

    assert [t for t in local if not (ROOT / t).resolve().is_relative_to(ROOT)] == []
    assert [t for t in local if not (ROOT / t).exists()] == []


def test_readme_commands_run_as_printed_from_a_fresh_clone() -> None:
    """`makerbus` is not on PATH after `make`: call it from .venv/bin, or activate first."""
    bare = re.compile(r"^\s*([A-Z_]+=\S+\s+)*(makerbus|makerbus-device)\s")
    shell_blocks = [block for block in _readme_code_blocks() if "│" not in "".join(block)]
    unrunnable = [
        line
        for block in shell_blocks
        if ". .venv/bin/activate" not in block
        for line in block
        if bare.search(line)
    ]

    assert unrunnable == []
