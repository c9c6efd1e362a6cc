"""`makerbus rental ...` (until the web side manages it)."""

from __future__ import annotations

import click


@click.group()
def rental() -> None:
    """Rental items and who may rent."""
