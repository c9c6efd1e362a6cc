"""The MQTT contract fuzzed through a real broker and handler service on PostgreSQL.

Payloads come from the published JSON Schemas (hardware_clients/schemas, through
tests/schema_strategy.py) and from hostile mutations of them: values the schema forbids, wrong
types, huge numbers and strings, invisible characters, extra fields, bad ids, non-JSON bytes.
Every payload must get exactly one answer, never `internal`, always valid per the op's answer
schema. Requests are pipelined (a window of them in flight, matched by MQTT 5 correlation data),
so ten thousand take well under a minute; the handlers' rate limit is raised for the run.
PostgreSQL only: it is the stricter database (NUL in text, BIGINT overflow).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker.contract import OPS
from broker.errors import ErrorCode
from broker.provisioning import Credentials
from broker.schemas import file_stem
from core import cash_boxes, products, rentals
from core.billing import Tariff
from core.clock import SystemClock
from core.formats import DeviceKind
from makerbus.context import database
from tests.e2e.stack import Stack, run_async
from tests.factories import TESTER
from tests.schema_strategy import from_schema

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SCHEMAS = Path(__file__).parents[2] / "hardware_clients" / "schemas"
PAYLOADS = 10_000
# Payloads per hypothesis example: VARIANTS of each of BATCH draws (drawing is what costs).
VARIANTS = 5
BATCH = 2
WINDOW = 200  # requests in flight at once (the handlers run up to 256)
ANSWER_TIMEOUT_S = 60.0
CODES = {code.value for code in ErrorCode} - {ErrorCode.INTERNAL.value}
# Topics that name no op of the contract: answered with bad_request or unknown_op.
ODD_OPS = ["", "coffee/brew", "x" * 300, "session/start/now", "card/identify/", "\u202e/op"]

KNOWN_CARD = "04F0221100AA01"
KNOWN_EAN = "4000000000017"
KNOWN_TARGET = "fuzz-box"
KNOWN_TID = "E2801160600002054F3A1B7C"


def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


# --- payloads ---------------------------------------------------------------------------------

HUGE_INTS = st.one_of(
    st.sampled_from([2**63, 2**63 - 1, -(2**63), -(2**63) - 1, 10**30, 2**64, 0, -1]),
    st.integers(min_value=2**62),
    st.integers(max_value=-1),
)
INVISIBLE = ["\u202e", "\x00", "\u200b", "\ufeff", "\ud800", "\U000e0041", "\ue000", "\x85"]
ODD_TEXT = st.one_of(
    st.sampled_from(INVISIBLE).map(lambda ch: f"Eve{ch}x"),
    st.text(max_size=30),
    # Long strings, cheaply: one character repeated, up to past the payload limit.
    st.builds(lambda ch, n: ch * n, st.characters(codec="utf-8"), st.integers(100, 5000)),
    st.just(""),
)
HOSTILE_VALUES: st.SearchStrategy[object] = st.one_of(
    HUGE_INTS,
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    ODD_TEXT,
    st.lists(st.integers(), max_size=5),
    st.dictionaries(st.text(max_size=10), st.integers(), max_size=3),
    st.recursive(st.none(), lambda inner: st.lists(inner, max_size=2), max_leaves=12),
)
# Request ids are drawn cheaply (the id pattern is fuzzed by BAD_IDS); a repeat is a replay.
IDS = st.integers(min_value=0).map(lambda n: f"fz-{n}")
BAD_IDS: st.SearchStrategy[object] = st.one_of(
    st.just("x" * 65), st.just("has space"), st.just(""), st.just("\u202e"), HUGE_INTS, st.none()
)
KNOWN = {"card": KNOWN_CARD, "ean": KNOWN_EAN, "target": KNOWN_TARGET, "tid": KNOWN_TID}


def _fields(op: str) -> st.SearchStrategy[dict[str, Any]]:
    """The op's fields as its request schema allows them, without the id."""
    schema = _schema(f"{file_stem(op)}.request.schema.json")
    schema["properties"].pop("id")
    schema["required"].remove("id")
    return from_schema(schema)


def _mutated(draw: Callable[..., Any], fields: dict[str, Any]) -> bytes:
    """`fields` with an id, broken in one way: a value, a field too many or too few, the id,
    a number literal too long, or not JSON at all."""
    payload = {**fields, "id": draw(IDS)}
    names = sorted(fields)
    mutation = draw(st.sampled_from(["value", "extra", "drop", "id", "digits", "bytes"]))
    if mutation == "value" and names:
        payload[draw(st.sampled_from(names))] = draw(HOSTILE_VALUES)
    elif mutation == "extra":
        payload[draw(st.text(max_size=50))] = draw(HOSTILE_VALUES)
    elif mutation == "drop":
        del payload[draw(st.sampled_from([*names, "id"]))]
    elif mutation == "id":
        payload["id"] = draw(BAD_IDS)
    elif mutation == "digits":
        # A number literal longer than any a JSON library writes for a 64-bit integer.
        digits = "9" * draw(st.sampled_from([19, 20, 41, 400, 4000]))
        payload[draw(st.sampled_from([*names, "id", "pad"]))] = "DIGITS"
        return json.dumps(payload).replace('"DIGITS"', digits).encode()
    elif mutation == "bytes":
        return bytes(draw(st.binary(max_size=200)))
    return json.dumps(payload, ensure_ascii=draw(st.booleans()), allow_nan=True).encode(
        "utf-8", "surrogatepass"
    )


@dataclass(frozen=True)
class Sent:
    op: str
    payload: bytes


@st.composite
def _variants(
    draw: Callable[..., Any], op: str, fields: st.SearchStrategy[dict[str, Any]]
) -> list[Sent]:
    """One draw of valid fields (the costly part) sent as it is and in VARIANTS - 1 broken
    ways. Now and then the valid one names the seeded card, product, cash box or item, so the
    op gets past `unknown_*`."""
    drawn: dict[str, Any] = draw(fields)
    valid = {"id": draw(IDS), **drawn}
    for key in valid.keys() & KNOWN.keys():
        if draw(st.booleans()):
            valid[key] = KNOWN[key]
    hostile = [_mutated(draw, drawn) for _ in range(VARIANTS - 1)]
    return [Sent(op, payload) for payload in [json.dumps(valid).encode(), *hostile]]


@st.composite
def _odd_topics(draw: Callable[..., Any]) -> list[Sent]:
    """Topics that name no op of the contract, with a plain or a broken payload."""
    ops = draw(st.lists(st.sampled_from(ODD_OPS), min_size=VARIANTS, max_size=VARIANTS))
    return [Sent(op, _mutated(draw, {}) if draw(st.booleans()) else b'{"id": "o"}') for op in ops]


def _requests() -> st.SearchStrategy[list[Sent]]:
    """VARIANTS payloads at a time, for every op in equal measure or for an odd topic."""
    return st.one_of(*(_variants(op, _fields(op)) for op in sorted(OPS)), _odd_topics())


# --- the sender ---------------------------------------------------------------------------------


@dataclass
class Pipeline:
    """One MQTT 5 connection per device kind; answers are matched by correlation data."""

    stack: Stack
    devices: dict[DeviceKind, Credentials]
    sent: dict[bytes, Sent] = field(default_factory=dict)
    answers: dict[bytes, bytes] = field(default_factory=dict)
    extra: list[bytes] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    clients: dict[DeviceKind, mqtt.Client] = field(default_factory=dict)

    def connect(self) -> None:
        for kind, credentials in self.devices.items():
            self.clients[kind] = self._connected(credentials)

    def _connected(self, credentials: Credentials) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=credentials.username, protocol=mqtt.MQTTv5
        )
        client.username_pw_set(credentials.username, credentials.password)
        client.max_inflight_messages_set(WINDOW)
        client.on_message = self._on_message
        subscribed = threading.Event()
        client.on_subscribe = lambda *_: subscribed.set()
        client.connect(credentials.host, credentials.port)
        client.loop_start()
        client.subscribe(f"mkr/v1/{credentials.username}/res/#", qos=1)
        assert subscribed.wait(10), f"{credentials.username} could not subscribe"
        return client

    def close(self) -> None:
        for client in self.clients.values():
            client.disconnect()
            client.loop_stop()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        correlation = getattr(message.properties, "CorrelationData", None)
        with self.changed:
            if correlation in self.sent and correlation not in self.answers:
                self.answers[correlation] = bytes(message.payload)
            else:
                self.extra.append(bytes(message.payload))
            self.changed.notify_all()

    def send(self, kind: DeviceKind, request: Sent) -> None:
        with self.changed:
            self.changed.wait_for(
                lambda: len(self.sent) - len(self.answers) < WINDOW, ANSWER_TIMEOUT_S
            )
            correlation = f"c{len(self.sent)}".encode()
            self.sent[correlation] = request
        slug = self.devices[kind].username
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.ResponseTopic = f"mkr/v1/{slug}/res/{request.op or 'none'}"
        properties.CorrelationData = correlation
        self.clients[kind].publish(
            f"mkr/v1/{slug}/req/{request.op}", request.payload, qos=1, properties=properties
        )

    def wait_for_all(self) -> None:
        with self.changed:
            self.changed.wait_for(lambda: len(self.answers) == len(self.sent), ANSWER_TIMEOUT_S)


def _seed(stack: Stack) -> dict[DeviceKind, Credentials]:
    """A device of each kind, and the card, product, cash box and item the payloads may name."""
    member = stack.add_member(balance_cents=10_000_000, card=KNOWN_CARD)
    machine = stack.machine(Tariff(login_fee_cents=0, price_per_minute_cents=1, interval_min=1))
    stack.authorize(machine, member)

    async def go() -> None:
        now = SystemClock().now()
        async with database(stack.settings) as db:
            await products.create(
                db, ean=KNOWN_EAN, name="Mate", price_cents=150, now=now, actor=TESTER
            )
            await cash_boxes.create(db, slug=KNOWN_TARGET, name="Fuzz box", now=now)
            await rentals.add_item(
                db, tid=KNOWN_TID, name="Drill", description=None, now=now, actor=TESTER
            )
            await rentals.permit(db, member.member_id, actor=TESTER, now=now)

    run_async(go())
    kinds = [DeviceKind.CHECKOUT, DeviceKind.BANKOMAT, DeviceKind.RENTAL]
    return {DeviceKind.MACHINE: machine} | {kind: stack.provision(kind) for kind in kinds}


@pytest.fixture
def pipeline(database_url: str, tmp_path: Path) -> Iterator[Pipeline]:
    stack = Stack.create(
        database_url,
        tmp_path,
        handler_env={
            "MAKERBUS_RATE_LIMIT_PER_S": "100000",
            "MAKERBUS_RATE_LIMIT_BURST": "100000",
            "MAKERBUS_LOG_LEVEL": "INFO",
        },
    )
    sender = Pipeline(stack, _seed(stack))
    sender.connect()
    yield sender
    sender.close()
    stack.stop()


def _kind_for(op: str) -> DeviceKind:
    spec = OPS.get(op)
    return DeviceKind.MACHINE if spec is None else min(spec.kinds)


def _answer_schema(op: str) -> dict[str, Any]:
    spec = OPS.get(op)
    name = "error.schema.json" if spec is None else f"{file_stem(op)}.answer.schema.json"
    return _schema(name)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_every_payload_gets_one_valid_answer_and_never_internal(pipeline: Pipeline) -> None:
    @settings(
        max_examples=PAYLOADS // (BATCH * VARIANTS),
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(_requests(), min_size=BATCH, max_size=BATCH))
    def send(batch: list[list[Sent]]) -> None:
        for request in (request for variants in batch for request in variants):
            pipeline.send(_kind_for(request.op), request)

    send()
    pipeline.wait_for_all()

    assert len(pipeline.sent) >= PAYLOADS
    missing = [pipeline.sent[c] for c in pipeline.sent.keys() - pipeline.answers.keys()]
    assert not missing, f"{len(missing)} without an answer, e.g. {missing[:3]}"
    assert not pipeline.extra, f"answers nobody asked for: {pipeline.extra[:3]}"
    validators = {
        op: jsonschema.Draft202012Validator(_answer_schema(op)) for op in {*OPS, *ODD_OPS}
    }
    for correlation, body in pipeline.answers.items():
        request = pipeline.sent[correlation]
        answer = json.loads(body)
        assert answer["ok"] is True or answer["error"] in CODES, (request, answer)
        validators[request.op].validate(answer)
    assert "Traceback" not in pipeline.stack.handler_log.read_text()
