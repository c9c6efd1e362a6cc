"""The traffic list: requests paired with their answers, bounded, redacted, never failing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from api.live.traffic import Traffic
from broker.contract.bank import BankPayoutAnswer, BankPayoutRequest
from broker.contract.cards import CardIdentifyAnswer, CardIdentifyRequest
from broker.contract.sessions import SessionTerminateCommand
from broker.envelope import encode_error, encode_ok
from broker.errors import ErrorCode
from broker.topics import Topics
from tests.factories import T0

TOPICS = Topics("mkr/v1")
PIN = "73915286"
IDENTIFY = CardIdentifyRequest(card="04A1B2C3D4E5F6")
IDENTIFIED = CardIdentifyAnswer(member_id=7, name="Ada", balance_cents=1200, has_pin=False)


def request(request_id: str, model: BaseModel) -> bytes:
    return json.dumps({"id": request_id, **model.model_dump(mode="json")}).encode()


def ask(
    traffic: Traffic, device: str, op: str, payload: bytes, *, after_ms: float = 0
) -> list[dict[str, Any]]:
    topic = TOPICS.request(device, op)
    return traffic.observe(
        topic, payload, retained=False, now=T0 + timedelta(milliseconds=after_ms)
    )


def answer(
    traffic: Traffic, device: str, op: str, payload: bytes, *, after_ms: float
) -> list[dict[str, Any]]:
    topic = TOPICS.response(device, op)
    return traffic.observe(
        topic, payload, retained=False, now=T0 + timedelta(milliseconds=after_ms)
    )


def test_a_request_makes_a_waiting_row() -> None:
    traffic = Traffic("mkr/v1")

    events = ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY))

    assert events == [
        {
            "type": "row",
            "row": {
                "seq": 1,
                "at": "2026-11-21T09:00:00.000Z",
                "device": "lathe",
                "kind": "request",
                "op": "card/identify",
                "request_id": "r1",
                "summary": [["card", "…E5F6"]],
                "result": None,
                "latency_ms": None,
                "answer": [],
            },
        }
    ]


def test_an_answer_completes_its_request_with_the_latency() -> None:
    traffic = Traffic("mkr/v1")
    ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY))

    events = answer(traffic, "lathe", "card/identify", encode_ok("r1", IDENTIFIED), after_ms=42)

    shown = [["member_id", 7], ["name", "Ada"], ["balance_cents", 1200]]
    assert events == [
        {
            "type": "result",
            "seq": 1,
            "device": "lathe",
            "op": "card/identify",
            "result": "ok",
            "latency_ms": 42.0,
            "answer": shown,
        }
    ]
    [row] = traffic.recent()
    assert (row["result"], row["latency_ms"], row["answer"]) == ("ok", 42.0, shown)


def test_an_answer_on_another_response_topic_pairs_by_id() -> None:
    traffic = Traffic("mkr/v1")
    ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY))

    events = answer(traffic, "lathe", "mine/7", encode_ok("r1", IDENTIFIED), after_ms=5)

    assert [(e["type"], e["seq"], e["answer"][1]) for e in events] == [
        ("result", 1, ["name", "Ada"])
    ]


def test_an_error_answer_gives_its_code() -> None:
    traffic = Traffic("mkr/v1")
    ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY))

    events = answer(
        traffic,
        "lathe",
        "card/identify",
        encode_error("r1", ErrorCode.CARD_BLOCKED, "lost"),
        after_ms=3,
    )

    assert events[0]["result"] == "card_blocked"


def test_the_same_id_from_another_device_does_not_pair() -> None:
    traffic = Traffic("mkr/v1")
    ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY))

    events = answer(traffic, "drill", "card/identify", encode_ok("r1", IDENTIFIED), after_ms=3)

    assert events[0]["row"]["kind"] == "answer"
    assert traffic.recent()[0]["result"] is None


def test_an_answer_without_its_request_is_a_row_of_its_own() -> None:
    traffic = Traffic("mkr/v1")

    [event] = answer(traffic, "lathe", "card/identify", encode_ok("r9", IDENTIFIED), after_ms=0)

    row = event["row"]
    assert (row["kind"], row["op"], row["request_id"], row["result"]) == (
        "answer",
        "card/identify",
        "r9",
        "ok",
    )
    assert row["answer"][1] == ["name", "Ada"]


def test_a_retry_is_a_new_row_and_the_answer_pairs_to_the_newest() -> None:
    traffic = Traffic("mkr/v1")
    ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY))
    ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY), after_ms=5000)

    events = answer(traffic, "lathe", "card/identify", encode_ok("r1", IDENTIFIED), after_ms=5010)

    assert [(e["seq"], e["latency_ms"]) for e in events] == [(2, 10.0)]
    assert [row["result"] for row in traffic.recent()] == [None, "ok"]


def test_a_request_waiting_past_the_timeout_has_no_answer() -> None:
    traffic = Traffic("mkr/v1", answer_timeout_s=30)
    ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY))

    early = traffic.expire(T0 + timedelta(seconds=30))
    late = traffic.expire(T0 + timedelta(seconds=30.5))

    assert early == []
    assert late == [
        {
            "type": "result",
            "seq": 1,
            "device": "lathe",
            "op": "card/identify",
            "result": "no_answer",
            "latency_ms": None,
            "answer": [],
        }
    ]


def test_an_answer_after_the_timeout_is_a_row_of_its_own() -> None:
    traffic = Traffic("mkr/v1", answer_timeout_s=1)
    ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY))
    traffic.expire(T0 + timedelta(seconds=2))

    [event] = answer(traffic, "lathe", "card/identify", encode_ok("r1", IDENTIFIED), after_ms=2500)

    assert event["row"]["kind"] == "answer"


def test_an_unreadable_request_has_a_row_and_its_null_id_answer_another() -> None:
    traffic = Traffic("mkr/v1")

    [asked] = ask(traffic, "lathe", "card/identify", b"{not json")
    [answered] = answer(
        traffic,
        "lathe",
        "card/identify",
        encode_error(None, ErrorCode.BAD_REQUEST, "x"),
        after_ms=2,
    )

    assert (asked["row"]["kind"], asked["row"]["request_id"], asked["row"]["summary"]) == (
        "request",
        None,
        [],
    )
    assert (answered["row"]["kind"], answered["row"]["result"]) == ("answer", "bad_request")


def test_a_refused_request_with_a_readable_id_pairs() -> None:
    traffic = Traffic("mkr/v1")
    nested = b'{"id": "r1", "card": ' + b"[" * 20 + b"]" * 20 + b"}"
    ask(traffic, "lathe", "card/identify", nested)

    events = answer(
        traffic,
        "lathe",
        "card/identify",
        encode_error("r1", ErrorCode.BAD_REQUEST, "deep"),
        after_ms=1,
    )

    assert [(e["type"], e["result"]) for e in events] == [("result", "bad_request")]


def test_an_oversized_request_has_a_row_without_summary() -> None:
    traffic = Traffic("mkr/v1", max_payload_bytes=100)

    [event] = ask(
        traffic, "lathe", "card/identify", request("r1", IDENTIFY)[:-1] + b" " * 200 + b"}"
    )

    assert event["row"]["summary"] == []


def test_no_event_ever_holds_the_pin() -> None:
    traffic = Traffic("mkr/v1")
    payout = BankPayoutRequest(card="04A1B2C3", pin=PIN, target="main", amount_cents=2000)
    refused = encode_error("p1", ErrorCode.PIN_INVALID, "wrong PIN", attempts_left=2)

    events = [
        *ask(traffic, "bankomat", "bank/payout", request("p1", payout)),
        *answer(traffic, "bankomat", "bank/payout", refused, after_ms=8),
        *ask(traffic, "bankomat", "bank/payout", request("p2", payout), after_ms=9),
        *answer(
            traffic,
            "bankomat",
            "bank/payout",
            encode_ok("p2", BankPayoutAnswer(target_balance_cents=1000)),
            after_ms=20,
        ),
    ]

    assert PIN not in json.dumps(events)
    assert PIN not in json.dumps(traffic.recent())


def test_a_live_status_is_a_row_and_a_retained_one_is_not() -> None:
    traffic = Traffic("mkr/v1")
    status = TOPICS.status("lathe")

    replayed = traffic.observe(status, b'{"online": true, "fw": "1.4.0"}', retained=True, now=T0)
    live = traffic.observe(status, b'{"online": false}', retained=False, now=T0)

    assert replayed == []
    assert [(e["row"]["kind"], e["row"]["summary"]) for e in live] == [
        ("status", [["online", False]])
    ]


def test_a_command_is_a_row_with_its_fields() -> None:
    traffic = Traffic("mkr/v1")
    command = SessionTerminateCommand(
        session_id=3,
        reason="admin",
        ended_at="2026-11-21T09:00:00Z",
        duration_s=60,
        total_cents=10,
        refund_cents=0,
    )
    topic = TOPICS.command("lathe", "session/terminate")

    [event] = traffic.observe(topic, command.model_dump_json().encode(), retained=False, now=T0)

    assert (event["row"]["kind"], event["row"]["op"]) == ("command", "session/terminate")
    assert event["row"]["summary"][:2] == [["session_id", 3], ["reason", "admin"]]


def test_messages_outside_the_contract_are_ignored() -> None:
    traffic = Traffic("mkr/v1")
    payload = request("r1", IDENTIFY)

    events = [
        traffic.observe(topic, payload, retained=False, now=T0)
        for topic in (
            "other/v1/lathe/req/card/identify",
            "mkr/v1/Lathe/req/card/identify",
            "mkr/v1/x/req/card/identify",
            "mkr/v1/lathe/telemetry",
            "mkr/v1/lathe/status/extra",
            "mkr/v1/lathe\n/status",
        )
    ]

    assert events == [[]] * 6
    assert traffic.recent() == []


def test_the_ring_keeps_the_newest_rows() -> None:
    traffic = Traffic("mkr/v1", capacity=3)

    for n in range(5):
        ask(traffic, "lathe", "card/identify", request(f"r{n}", IDENTIFY))

    assert [row["request_id"] for row in traffic.recent()] == ["r2", "r3", "r4"]


def test_a_full_pending_table_gives_up_on_the_oldest_request() -> None:
    traffic = Traffic("mkr/v1", max_pending=2)
    ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY))
    ask(traffic, "lathe", "card/identify", request("r2", IDENTIFY))

    events = ask(traffic, "lathe", "card/identify", request("r3", IDENTIFY))

    assert [(e["type"], e.get("seq"), e.get("result")) for e in events] == [
        ("result", 1, "no_answer"),
        ("row", None, None),
    ]
    assert traffic.pending == 2


def test_recent_for_some_devices_shows_only_theirs() -> None:
    traffic = Traffic("mkr/v1")
    for device in ("lathe", "drill", "laser"):
        ask(traffic, device, "card/identify", request("r1", IDENTIFY))

    rows = traffic.recent(devices={"drill", "laser"})

    assert [row["device"] for row in rows] == ["drill", "laser"]


def test_answers_and_timeouts_feed_the_statistics() -> None:
    traffic = Traffic("mkr/v1", answer_timeout_s=1)
    ask(traffic, "lathe", "card/identify", request("r1", IDENTIFY))
    answer(traffic, "lathe", "card/identify", encode_ok("r1", IDENTIFIED), after_ms=4)
    ask(traffic, "lathe", "card/identify", request("r2", IDENTIFY), after_ms=5)
    traffic.expire(T0 + timedelta(seconds=3))

    snapshot = traffic.stats.snapshot(T0 + timedelta(seconds=3))

    assert (snapshot["requests"], snapshot["errors"], snapshot["codes"]) == (2, 1, {"no_answer": 1})


topics = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda device, rest: f"mkr/v1/{device}/{rest}",
        st.sampled_from(["lathe", "Lathe", "a", "drill-2"]),
        st.sampled_from(["req/", "req", "res/", "res", "cmd/", "status"]).flatmap(
            lambda head: st.text(max_size=20).map(lambda tail: head + tail)
        ),
    ),
)
payloads = st.one_of(
    st.binary(max_size=300),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=10,
    ).map(lambda value: json.dumps(value).encode()),
    st.dictionaries(
        st.sampled_from(["id", "ok", "error", "card", "pin", "online", "fw", "name"]),
        st.none() | st.booleans() | st.integers() | st.text(max_size=10) | st.just("r1"),
    ).map(lambda value: json.dumps(value).encode()),
)


@given(st.lists(st.tuples(topics, payloads, st.booleans()), max_size=20))
def test_no_message_makes_it_fail(messages: list[tuple[str, bytes, bool]]) -> None:
    traffic = Traffic("mkr/v1", capacity=5, max_pending=3)

    for n, (topic, payload, retained) in enumerate(messages):
        traffic.observe(topic, payload, retained=retained, now=T0 + timedelta(seconds=n))
    traffic.expire(T0 + timedelta(hours=1))

    json.dumps([traffic.recent(), traffic.stats.snapshot(T0 + timedelta(hours=1))])
    assert traffic.pending == 0
