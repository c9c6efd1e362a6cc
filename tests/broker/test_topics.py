"""The topic contract."""

from __future__ import annotations

import pytest

from broker.topics import RequestTopic, Topics

TOPICS = Topics("mkr/v1")


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("mkr/v1/lathe-1/req/card/identify", RequestTopic("lathe-1", "card/identify")),
        ("mkr/v1/lathe-1/req/device/config", RequestTopic("lathe-1", "device/config")),
        ("mkr/v1/lathe-1/req/whatever", RequestTopic("lathe-1", "whatever")),
        ("mkr/v1/lathe-1/req/a/", RequestTopic("lathe-1", "a/")),
        # No op at all: still a request of the device, answered with `bad_request`.
        ("mkr/v1/lathe-1/req/", RequestTopic("lathe-1", "")),
        ("mkr/v1/lathe-1/req", RequestTopic("lathe-1", "")),
    ],
)
def test_request_topics_name_device_and_op(topic: str, expected: RequestTopic) -> None:
    assert TOPICS.parse_request(topic) == expected


@pytest.mark.parametrize(
    "topic",
    [
        "mkr/v2/lathe-1/req/x",
        "mkr/v1/lathe-1/res/x",
        "mkr/v1/Lathe/req/x",
        "mkr/v1/lathe-1/reqs/x",
        "mkr/v1/lathe-1/status",
        "other/mkr/v1/a1/req/x",
    ],
)
def test_other_topics_are_not_requests(topic: str) -> None:
    assert TOPICS.parse_request(topic) is None


@pytest.mark.parametrize(
    ("topic", "own"),
    [
        ("mkr/v1/lathe-1/res/card/identify", True),
        ("mkr/v1/lathe-1/res/anything/deeper", True),
        ("mkr/v1/lathe-1/res/", False),
        ("mkr/v1/lathe-2/res/card/identify", False),
        ("mkr/v1/lathe-1/cmd/session/terminate", False),
        ("mkr/v1/lathe-1/res/+", False),
        ("mkr/v1/lathe-1/res/#", False),
        ("mkr/v1/lathe-1/res/" + "x" * 300, False),
        ("mkr/v1/lathe-10/res/x", False),
    ],
)
def test_only_the_devices_own_res_topics_are_answer_topics(topic: str, own: bool) -> None:
    assert TOPICS.is_own_response_topic("lathe-1", topic) is own


def test_shared_subscription_covers_every_device() -> None:
    assert TOPICS.shared_requests("makerbus") == "$share/makerbus/mkr/v1/+/req/#"
