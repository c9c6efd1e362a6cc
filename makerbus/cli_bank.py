"""`makerbus cashbox ...` (until the web side manages it)."""

from __future__ import annotations

import click


@click.group()
def cashbox() -> None:
    """Cash boxes of the Bankomat."""
