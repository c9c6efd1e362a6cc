"""The front door stays true: every setting is documented where operators look."""

from __future__ import annotations

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
