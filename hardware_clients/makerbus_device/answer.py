"""The server's answer to one request."""

from dataclasses import dataclass

_ENVELOPE_KEYS = frozenset({"id", "ok", "error", "message"})


@dataclass(frozen=True)
class Answer:
    """A decoded answer; ``answer["balance_cents"]`` reads one of its fields.

    ``id`` is None for the server's error answers to requests it could not parse.
    """

    id: str | None
    ok: bool
    error: str | None
    message: str | None
    fields: dict[str, object]
    raw: dict[str, object]

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> "Answer":
        """Build an Answer from a decoded answer object, tolerating missing envelope keys."""
        answer_id, error, message = raw.get("id"), raw.get("error"), raw.get("message")
        return cls(
            id=answer_id if isinstance(answer_id, str) else None,
            ok=raw.get("ok") is True,
            error=error if isinstance(error, str) else None,
            message=message if isinstance(message, str) else None,
            fields={k: v for k, v in raw.items() if k not in _ENVELOPE_KEYS},
            raw=raw,
        )

    def __getitem__(self, key: str) -> object:
        return self.fields[key]
