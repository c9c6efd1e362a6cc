"""Events as Server-Sent Events text, encoded once for all the viewers they go to."""

from __future__ import annotations

import json

from api.live.monitor import EncodedOnce, server_sent


def test_an_event_is_one_data_line_and_a_blank_line() -> None:
    text = server_sent({"type": "row", "row": {"op": "bank/payout", "note": "two\nlines"}})

    assert text.startswith("data: ")
    assert text.endswith("\n\n")
    assert text.count("\n") == 2  # newlines inside values are escaped by JSON
    assert json.loads(text[len("data: ") :]) == {
        "type": "row",
        "row": {"op": "bank/payout", "note": "two\nlines"},
    }


def test_the_same_event_object_is_encoded_once_and_an_equal_new_one_again() -> None:
    encoded = EncodedOnce(size=2)
    event = {"type": "stats", "n": 1}

    first, second = encoded(event), encoded(event)
    event["n"] = 2  # events are not changed once published; a changed one shows the cache
    cached = encoded(event)
    fresh = encoded({"type": "stats", "n": 2})

    assert first is second is cached
    assert fresh == server_sent({"type": "stats", "n": 2})
