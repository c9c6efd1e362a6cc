"""`makerbus product ...` (until the web side manages it)."""

from __future__ import annotations

import click


@click.group()
def product() -> None:
    """Products, categories, aliases and stock."""
