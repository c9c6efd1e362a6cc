"""A flooding device gets one answer per request; over the limit it says when to come back."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.e2e.stack import Stack

BURST = 500


def test_a_burst_of_500_requests_gets_exactly_500_answers(stack: Stack) -> None:
    credentials = stack.provision()
    device = stack.device(credentials)
    requests, answers = f"mkr/v1/{credentials.username}/req", f"mkr/v1/{credentials.username}/res/#"

    for number in range(BURST):
        device.publish_raw(f"{requests}/device/config", f'{{"id": "flood-{number}"}}'.encode())
    received = [json.loads(device.wait_for_message(answers, 30.0)[1]) for _ in range(BURST)]

    assert Counter(answer["id"] for answer in received) == {f"flood-{n}": 1 for n in range(BURST)}
    refused = [answer for answer in received if not answer["ok"]]
    assert refused, "the burst never reached the limit"
    assert {answer["error"] for answer in refused} == {"rate_limited"}
    assert all(answer["retry_after_ms"] >= 1 for answer in refused)
    # Nothing more is on its way: the answer to a later request comes after any straggler.
    device.publish_raw(f"{requests}/device/config", b'{"id": "after"}')
    assert json.loads(device.wait_for_message(answers, 30.0)[1])["id"] == "after"
    with pytest.raises(TimeoutError):
        device.wait_for_message(answers, 0.0)
