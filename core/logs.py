"""Structured logging: one JSON object a line (or readable text for the console)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else came in through `extra=` and is logged as a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Never written, whatever a caller passes in `extra`.
REDACTED_KEYS = frozenset({"password", "pin", "secret", "token", "new_password"})


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {
        key: ("[redacted]" if key in REDACTED_KEYS else value)
        for key, value in record.__dict__.items()
        if key not in _STANDARD
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()} {extra}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiomqtt warns about pending publishes under normal load; keep its warnings for real trouble.
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    # SQL statements are not operator information, even at DEBUG.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
