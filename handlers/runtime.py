"""One request in, at most one answer out: parse, check, dedupe, run in a transaction, reply.

All plumbing lives here once; op handlers are small typed functions (handlers/registry.py).
Nothing a device sends can raise out of `Runtime.handle`. Every error answer, whatever refused
it, is encoded by `Refused.encode` and counted by `Runtime._reply` once it is the answer sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker.contract import OpSpec
from broker.envelope import (
    EnvelopeError,
    Request,
    decode_request,
    describe_validation_error,
    encode_error,
    encode_ok,
)
from broker.errors import ErrorCode
from broker.topics import RequestTopic, Topics
from core import devices, idempotency
from core.clock import Clock
from core.devices import DeviceRef
from core.errors import DomainError
from core.hotpath import devices as hot_devices
from core.hotpath.driver import UNAVAILABLE, Driver
from core.hotpath.driver import driver as hotpath_driver
from core.settings import Settings
from handlers import metrics
from handlers.context import Decline, HotContext, HotHandler, OpContext
from handlers.directory import DeviceDirectory
from handlers.errors import wire_code
from handlers.registry import OPS, Op

log = logging.getLogger("makerbus.handlers")
LAST_SEEN_RESOLUTION = timedelta(seconds=60)
RETAINED = "retained requests are not accepted: publish requests with retain=0"
MAX_ECHOED_OP = 64
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout, *UNAVAILABLE)


@dataclass(frozen=True)
class Incoming:
    topic: str
    payload: bytes
    response_topic: str | None = None
    correlation_data: bytes | None = None
    retain: bool = False


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    correlation_data: bytes | None = None


@dataclass(frozen=True)
class Answer:
    """An encoded answer; `error` is the code of a fresh error answer (a replay has none)."""

    body: bytes
    error: ErrorCode | None = None


class AnsweredBefore(Exception):
    """On storing its answer, a request found that a twin (same device and id) stored one first."""


class Refused(Exception):
    """An error answer: raised for a request refused before its op changes anything, and
    built for a rule's no (a domain error, a `Decline`) and a rate-limited request."""

    def __init__(
        self, code: ErrorCode, message: str, request_id: str | None, **fields: object
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.fields = fields

    def encode(self) -> Answer:
        body = encode_error(self.request_id, self.code, self.message, **self.fields)
        return Answer(body, self.code)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        ops: Mapping[str, Op] = OPS,
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self._sessions = sessions
        self._clock = clock
        self._last_touch: dict[int, datetime] = {}
        self._directory = DeviceDirectory()
        self._ops = ops

    async def handle(self, message: Incoming, target: RequestTopic | None) -> Outgoing | None:
        """The answer to one message, or None when its topic names no device's request.

        `target` is `self.topics.parse_request(message.topic)`: the caller parses the topic
        once, since it needs the device for rate limiting and ordering too.
        """
        if target is None:
            log.warning("ignored message on %s: not a request topic", message.topic)
            return None
        started = time.perf_counter()
        op_label = self._op_label(target)
        request_id: str | None = None
        try:
            if message.retain:
                # The broker would replay it to every new subscriber: never run it.
                raise Refused(ErrorCode.BAD_REQUEST, RETAINED, self._readable_id(message.payload))
            request = decode_request(message.payload, max_bytes=self.settings.max_payload_bytes)
            request_id = request.id
            answer = await self._answer(target, request)
        except Exception as error:
            refusal = self._refusal_for(error, target, op_label, request_id)
            log.info(
                "refused",
                extra={
                    "device": target.slug,
                    "op": op_label,
                    "request_id": refusal.request_id,
                    "code": refusal.code.value,
                    "reason": refusal.message,
                },
            )
            answer = refusal.encode()
        metrics.REQUESTS.labels(op_label).inc()
        metrics.LATENCY.labels(op_label).observe(time.perf_counter() - started)
        return self._reply(message, target, op_label, answer)

    def rate_limited(
        self, message: Incoming, target: RequestTopic | None, retry_after_ms: int, *, log_it: bool
    ) -> Outgoing | None:
        """The `rate_limited` answer to a message the limiter turned away.

        No database, no op model, and a log line only when `log_it` (once a second per device):
        a flood costs one small JSON parse and one publish per message.
        """
        if target is None:
            return None
        if log_it:
            log.info(
                "rate limited", extra={"device": target.slug, "retry_after_ms": retry_after_ms}
            )
        refusal = Refused(
            ErrorCode.RATE_LIMITED,
            "too many requests, retry after retry_after_ms",
            self._readable_id(message.payload),
            retry_after_ms=retry_after_ms,
        )
        return self._reply(message, target, self._op_label(target), refusal.encode())

    def _readable_id(self, payload: bytes) -> str | None:
        try:
            return decode_request(payload, max_bytes=self.settings.max_payload_bytes).id
        except EnvelopeError as error:
            return error.request_id

    def _op_label(self, target: RequestTopic) -> str:
        return target.op if target.op in self._ops else "unknown"

    def _refusal_for(
        self, error: Exception, target: RequestTopic, op_label: str, request_id: str | None
    ) -> Refused:
        """The error answer to a request that failed outside its op's rules."""
        if isinstance(error, Refused):
            return error
        if isinstance(error, EnvelopeError):
            return Refused(ErrorCode.BAD_REQUEST, error.message, error.request_id)
        if isinstance(error, DATABASE_DOWN):
            log.error(
                "database unavailable: %s", type(error).__name__, extra={"device": target.slug}
            )
            message = "database unavailable, retry with the same id"
            return Refused(ErrorCode.UNAVAILABLE, message, request_id)
        log.error("internal error", exc_info=error, extra={"device": target.slug, "op": op_label})
        return Refused(ErrorCode.INTERNAL, "internal error, retry with the same id", request_id)

    def _reply(
        self, message: Incoming, target: RequestTopic, op_label: str, answer: Answer
    ) -> Outgoing:
        if answer.error is not None:
            metrics.ERRORS.labels(op_label, answer.error.value).inc()
        return Outgoing(
            topic=self._reply_topic(target, message.response_topic),
            payload=answer.body,
            correlation_data=message.correlation_data,
        )

    def _reply_topic(self, target: RequestTopic, response_topic: str | None) -> str:
        """The device's own response topic; an MQTT 5 one only if it is below its `res/`."""
        if response_topic and self.topics.is_own_response_topic(target.slug, response_topic):
            return response_topic
        if response_topic:
            log.warning(
                "response topic outside the device's res/ ignored", extra={"device": target.slug}
            )
        return self.topics.response(target.slug, target.op)

    def _spec(self, target: RequestTopic, request: Request) -> OpSpec:
        if not target.op:
            raise Refused(ErrorCode.BAD_REQUEST, "op: missing, publish on req/<op>", request.id)
        op = self._ops.get(target.op)
        if op is None:
            # The name is the device's: echo a bounded, escaped (repr) part of it.
            echoed = target.op[:MAX_ECHOED_OP]
            raise Refused(ErrorCode.UNKNOWN_OP, f"unknown op {echoed!r}", request.id)
        return op.spec

    async def _answer(self, target: RequestTopic, request: Request) -> Answer:
        spec = self._spec(target, request)
        now = self._clock.now()
        try:
            return await self._run(spec, target, request, now)
        except (IntegrityError, AnsweredBefore):
            # A twin of this request (same device and id) committed first: answer as it did.
            stored = await self._stored_twin(target, request, spec)
            if stored is None:
                raise
            return self._replay(stored, spec, request)

    async def _run(
        self, spec: OpSpec, target: RequestTopic, request: Request, now: datetime
    ) -> Answer:
        op = self._ops[spec.name]
        async with self._sessions() as db:
            try:
                async with db.begin():
                    device = await self._device(db, target, request, spec)
                    params = self._hot_params(op, request)
                    if op.hot is None or params is None:
                        answer = await self._general(op, db, device, request, now)
                    else:
                        answer = await self._hot(op.hot, spec, params, db, device, request, now)
            except DomainError as error:
                # A rule said no: the op's changes are rolled back; the answer is kept for retries.
                refusal = Refused(wire_code(type(error)), error.message, request.id, **error.fields)
                answer = refusal.encode()
                async with db.begin():
                    driver = await hotpath_driver(db)
                    await self._remember(driver, device, spec, request, answer.body, now)
        if log.isEnabledFor(logging.DEBUG):
            code = answer.error.value if answer.error else "ok"
            log.debug(
                "answered",
                extra={
                    "device": device.slug,
                    "op": spec.name,
                    "request_id": request.id,
                    "code": code,
                },
            )
        return answer

    async def _general(
        self, op: Op, db: AsyncSession, device: DeviceRef, request: Request, now: datetime
    ) -> Answer:
        spec = op.spec
        driver = await hotpath_driver(db)
        if spec.remember_answer:
            stored = await idempotency.lookup(driver, device.id, request.id)
            if stored is not None:
                return self._replay(stored, spec, request)
        params = self._validate(spec, request)
        await self._touch(device, now, partial(devices.touch, db, now=now))
        ctx = OpContext(
            db=db, device=device, request_id=request.id, now=now, settings=self.settings
        )
        outcome = await op.handler(params, ctx)
        answer = self._outcome_answer(request, outcome)
        await self._remember(driver, device, spec, request, answer.body, now)
        return answer

    def _hot_params(self, op: Op, request: Request) -> object | None:
        """The request's fields for the op's hot path; None sends it the general way (also when
        they are invalid: that way looks a stored answer up before it refuses them)."""
        if op.hot is None:
            return None
        try:
            return op.spec.request.model_validate(request.fields)
        except ValidationError:
            return None

    async def _hot(
        self,
        hot: HotHandler,
        spec: OpSpec,
        params: object,
        db: AsyncSession,
        device: DeviceRef,
        request: Request,
        now: datetime,
    ) -> Answer:
        """The op on the driver connection (`core.hotpath`), its answer stored there too."""
        driver = await hotpath_driver(db)
        ctx = HotContext(
            db=db,
            device=device,
            request_id=request.id,
            now=now,
            settings=self.settings,
            driver=driver,
        )
        outcome = await hot(params, ctx)
        if isinstance(outcome, idempotency.StoredAnswer):
            return self._replay(outcome, spec, request)
        await self._touch(device, now, partial(hot_devices.touch, driver, now=now))
        answer = self._outcome_answer(request, outcome)
        await self._remember(driver, device, spec, request, answer.body, now)
        return answer

    @staticmethod
    def _outcome_answer(request: Request, outcome: BaseModel | Decline) -> Answer:
        if isinstance(outcome, Decline):
            return Refused(outcome.code, outcome.message, request.id, **outcome.fields).encode()
        return Answer(encode_ok(request.id, outcome))

    async def _remember(
        self,
        driver: Driver,
        device: DeviceRef,
        spec: OpSpec,
        request: Request,
        body: bytes,
        now: datetime,
    ) -> None:
        if not spec.remember_answer:
            return
        stored = await idempotency.store(
            driver,
            device_id=device.id,
            request_id=request.id,
            op=spec.name,
            request_hash=request.fingerprint,
            answer=body,
            now=now,
        )
        if not stored:
            raise AnsweredBefore(request.id)

    async def _device(
        self, db: AsyncSession, target: RequestTopic, request: Request, spec: OpSpec
    ) -> DeviceRef:
        device = await self._directory.find(db, target.slug)
        if device is None or not device.enabled:
            raise Refused(ErrorCode.FORBIDDEN_OP, "device not registered or disabled", request.id)
        if device.kind not in spec.kinds:
            raise Refused(
                ErrorCode.FORBIDDEN_OP, f"a {device.kind.value} may not use {spec.name}", request.id
            )
        return device

    def _validate(self, spec: OpSpec, request: Request) -> object:
        try:
            return spec.request.model_validate(request.fields)
        except ValidationError as error:
            raise Refused(
                ErrorCode.BAD_REQUEST, describe_validation_error(error), request.id
            ) from None

    def _replay(self, stored: idempotency.StoredAnswer, spec: OpSpec, request: Request) -> Answer:
        if not stored.matches(spec.name, request.fingerprint):
            raise Refused(
                ErrorCode.BAD_REQUEST,
                "id: already used for a different request; use a new id",
                request.id,
            )
        metrics.REPLAYS.labels(spec.name).inc()
        return Answer(stored.answer)

    async def _stored_twin(
        self, target: RequestTopic, request: Request, spec: OpSpec
    ) -> idempotency.StoredAnswer | None:
        async with self._sessions() as db, db.begin():
            device = await self._device(db, target, request, spec)
            return await idempotency.lookup(await hotpath_driver(db), device.id, request.id)

    async def _touch(
        self, device: DeviceRef, now: datetime, write: Callable[[int], Awaitable[None]]
    ) -> None:
        """Update last seen at most once a minute per device and worker (it is a write)."""
        last = self._last_touch.get(device.id)
        if last is None or now - last >= LAST_SEEN_RESOLUTION:
            await write(device.id)
            self._last_touch[device.id] = now
