"""Where the broker is: host, port and, for TLS, the CA file that vouches for it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    ca_file: Path | None = None
