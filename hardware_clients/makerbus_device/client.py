"""DeviceClient: one makerbus device speaking the MQTT contract over paho-mqtt's network thread."""

import functools
import itertools
import json
import logging
import secrets
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, ParamSpec, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from makerbus_device.answer import Answer
from makerbus_device.contract import (
    DEFAULT_PREFIX,
    ID_PREFIX_RE,
    OFFLINE_STATUS,
    OP_RE,
    QOS,
    SLUG_RE,
    Topics,
    online_status,
    request_payload,
)
from makerbus_device.errors import ConnectRefused, DeviceError, RequestTimeout
from makerbus_device.inbox import Inbox, Message
from makerbus_device.pending import Pending, PendingRequests

logger = logging.getLogger(__name__)

CommandHandler = Callable[[str, dict[str, object]], None]
"""Called with a command's name (``session/terminate``) and its decoded JSON object."""

DEFAULT_FW = "makerbus-device/0.1.0"
_ACK_TIMEOUT = 5.0
_P = ParamSpec("_P")


def _logged(callback: Callable[_P, None]) -> Callable[_P, None]:
    """Log a callback's exception instead of letting it kill paho's network thread."""

    @functools.wraps(callback)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            callback(*args, **kwargs)
        except Exception:
            logger.exception("error in MQTT callback %s", callback.__name__)

    return guarded


class DeviceClient:
    """A makerbus device: request/answer with retries, retained status, last will, commands.

    Thread-safe: several threads may call ``request`` at once. paho's network thread reconnects
    on its own (1-30 s back-off); after each reconnect the client subscribes again and
    republishes its online status.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        mqtt_version: int = 5,
        prefix: str = DEFAULT_PREFIX,
        fw: str = DEFAULT_FW,
        keepalive: int = 30,
        tls_ca_file: str | None = None,
        id_prefix: str | None = None,
    ) -> None:
        """``mqtt_version``: 5 or 3 (MQTT 3.1.1); ``id_prefix`` defaults to 8 random hex digits."""
        if not SLUG_RE.fullmatch(username):
            raise ValueError(f"username {username!r} is not a device slug ([a-z0-9-]{{2,40}})")
        if mqtt_version not in (3, 5):
            raise ValueError("mqtt_version must be 5 or 3 (MQTT 3.1.1)")
        if id_prefix is not None and not ID_PREFIX_RE.fullmatch(id_prefix):
            raise ValueError("id_prefix must be 1-40 characters of [A-Za-z0-9_.:-]")
        self._host = host
        self._port = port
        self._keepalive = keepalive
        self._fw = fw
        self._v5 = mqtt_version == 5
        self._topics = Topics(prefix, username)
        # Random per process start, so ids stay unique across reboots without stored state.
        self._id_prefix = id_prefix if id_prefix is not None else secrets.token_hex(4)
        self._counter = itertools.count(1)

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._running = False
        self._session_up = False
        self._ready = False
        self._closing = False
        self._connect_failure: DeviceError | None = None
        self._connect_sub_mid: int | None = None
        self._disconnect_reason: str | None = None
        self._loop_thread: int | None = None
        self._requests = PendingRequests()
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._inbox = Inbox()
        self._command_handler: CommandHandler | None = None
        self._client = self._make_client(username, password, tls_ca_file)

    def _make_client(self, username: str, password: str, tls_ca_file: str | None) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=username,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
        )
        if logger.isEnabledFor(logging.DEBUG):
            # Only then: paho also logs a harmless ERROR when close() races its network thread.
            client.enable_logger(logging.getLogger(f"{__name__}.paho"))
        client.username_pw_set(username, password)
        client.will_set(self._topics.status, OFFLINE_STATUS, qos=QOS, retain=True)
        if tls_ca_file is not None:
            client.tls_set(ca_certs=tls_ca_file)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    # -- lifecycle -------------------------------------------------------------------------

    def connect(self, timeout: float = 10.0) -> None:
        """Connect and wait for the CONNACK and the granted subscriptions.

        Raises ConnectRefused when the broker refuses the login, DeviceError otherwise.
        """
        with self._lock:
            if self._running:
                raise DeviceError("already connected")
            self._connect_failure = None
            self._disconnect_reason = None
            self._closing = False
        self._client.connect_timeout = timeout
        try:
            self._client.connect(self._host, self._port, self._keepalive)
        except OSError as exc:
            raise DeviceError(f"cannot reach {self._host}:{self._port}: {exc}") from exc
        self._client.loop_start()
        with self._changed:
            self._running = True
            self._changed.wait_for(lambda: self._ready or bool(self._connect_failure), timeout)
            ready, failure = self._ready, self._connect_failure
        if ready:
            return
        self._stop()
        raise failure or DeviceError(f"the broker did not let us in within {timeout} s")

    def close(self) -> None:
        """Publish the offline status, disconnect and stop the network thread. Idempotent."""
        with self._lock:
            if not self._running:
                return
            self._closing = True  # so the coming disconnect is not reported as a loss
            session_up = self._session_up
            self._requests.fail_all("the client was closed")
        if session_up:
            # A clean DISCONNECT suppresses the will, so say goodbye ourselves.
            info = self._client.publish(self._topics.status, OFFLINE_STATUS, qos=QOS, retain=True)
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                info.wait_for_publish(_ACK_TIMEOUT)
        self._stop()

    def _stop(self) -> None:
        with self._lock:
            self._closing = True
        self._client.disconnect()
        self._client.loop_stop()
        with self._lock:
            self._running = self._session_up = self._ready = False
            self._loop_thread = None

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """True while connected with both subscriptions granted."""
        return self._ready

    @property
    def disconnect_reason(self) -> str | None:
        """Why the last established connection was lost, e.g. ``"Administrative action"``.

        A ``close()`` is not counted; a refused reconnect does not overwrite it.
        """
        return self._disconnect_reason

    # -- requests ----------------------------------------------------------------------------

    def new_request_id(self) -> str:
        """A fresh request id: ``<id prefix>-<counter>``."""
        with self._lock:
            return f"{self._id_prefix}-{next(self._counter)}"

    def request(
        self,
        op: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        request_id: str | None = None,
        **fields: object,
    ) -> Answer:
        """Send ``{"id": ..., **fields}`` to ``req/<op>`` and return the answer.

        Waits ``timeout`` seconds per attempt and sends the same request (same id, so the server
        replays instead of repeating it) up to ``retries`` more times, then raises RequestTimeout.
        A ``rate_limited`` answer is retried the same way after its ``retry_after_ms`` (at most
        ``timeout``) while retries are left. Server-side errors come back as an Answer with
        ``ok == False``; they do not raise.
        """
        if not OP_RE.fullmatch(op):
            raise ValueError(f"invalid op {op!r}")
        if "id" in fields:
            raise ValueError("pass the request id as request_id=")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        rid = self.new_request_id() if request_id is None else request_id
        payload = request_payload(rid, fields)

        pending = Pending(rid, secrets.token_bytes(16) if self._v5 else None)
        properties = self._request_properties(op, pending.correlation)
        self._register(pending)
        try:
            for attempt in range(1, retries + 2):
                self._send(pending, self._topics.req(op), payload, properties)
                if not pending.done.wait(timeout):
                    logger.info("no answer to %s (id %s), attempt %d", op, rid, attempt)
                    continue
                pause = self._retry_pause(pending, timeout) if attempt <= retries else None
                # A close() during the pause ends the request at once.
                if pause is None or pending.done.wait(pause):
                    break
        finally:
            self._forget(pending)
        outcome = pending.outcome
        if isinstance(outcome, DeviceError):
            raise outcome
        if outcome is None:
            raise RequestTimeout(op, rid, retries + 1)
        return outcome

    def _retry_pause(self, pending: Pending, limit: float) -> float | None:
        """Seconds to wait before sending a rate-limited request again; None: keep the outcome."""
        outcome = pending.outcome
        if not isinstance(outcome, Answer) or outcome.error != "rate_limited":
            return None
        wait_ms = outcome.fields.get("retry_after_ms")
        if not isinstance(wait_ms, int) or isinstance(wait_ms, bool) or wait_ms < 0:
            return None
        logger.info("request %s rate limited: again in %d ms", pending.request_id, wait_ms)
        with self._lock:
            pending.rearm()
        return min(wait_ms / 1000, limit)

    def _request_properties(self, op: str, correlation: bytes | None) -> Properties | None:
        if correlation is None:
            return None
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.ResponseTopic = self._topics.res(op)
        properties.CorrelationData = correlation
        return properties

    def _register(self, pending: Pending) -> None:
        with self._lock:
            if not self._running:
                raise DeviceError("not connected: call connect() first")
            if self._loop_thread == threading.get_ident():
                # The answer is delivered by this very thread, so waiting here would deadlock.
                raise DeviceError("request() cannot be called from a command handler")
            self._requests.add(pending)

    def _send(
        self, pending: Pending, topic: str, payload: bytes, properties: Properties | None
    ) -> None:
        info = self._client.publish(topic, payload, qos=QOS, properties=properties)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            # NO_CONN: paho keeps the message and sends it after the reconnect.
            logger.info("request %s queued: %s", pending.request_id, mqtt.error_string(info.rc))
            return
        with self._lock:
            # The PUBACK may already have been handled; on_publish then parked its code.
            self._requests.sent(pending, info.mid, acknowledged=info.is_published())

    def _forget(self, pending: Pending) -> None:
        with self._lock:
            self._requests.remove(pending)

    # -- raw access (tests, tools) -------------------------------------------------------------

    def publish_raw(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
        timeout: float = _ACK_TIMEOUT,
    ) -> int:
        """Publish anything and return the outcome as a number.

        That is the PUBACK reason code (MQTT 5: 0, 0x10 no subscribers, 0x87 not authorized;
        MQTT 3.1.1 acks even a denied publish with 0), or paho's error code if it could not send
        now (4: not connected; paho still sends a QoS 1 message after the reconnect).
        Raises DeviceError when no PUBACK arrives within ``timeout``.
        """
        info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return int(info.rc)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise DeviceError(f"no PUBACK for {topic} within {timeout} s")
        with self._lock:
            code = self._requests.take_puback_code(info.mid)
        return 0 if code is None else code.value

    def subscribe_raw(
        self, topic: str, qos: int = 1, *, timeout: float = _ACK_TIMEOUT
    ) -> list[int]:
        """Subscribe and return the SUBACK reason codes (0x87 denied on MQTT 5, 0x80 on 3.1.1).

        Messages on the new subscription land in the buffer that ``wait_for_message`` reads.
        Sessions are clean, so the subscription is not renewed after a reconnect.
        """
        rc, mid = self._client.subscribe(topic, qos)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise DeviceError(f"cannot subscribe to {topic}: {mqtt.error_string(rc)}")
        with self._changed:
            if not self._changed.wait_for(lambda: mid in self._subacks, timeout):
                raise DeviceError(f"no SUBACK for {topic} within {timeout} s")
            return [code.value for code in self._subacks.pop(mid)]

    def wait_for_message(self, topic_filter: str, timeout: float) -> Message:
        """Return the oldest buffered or next received message matching ``topic_filter``.

        Only messages that no pending request claimed are buffered (the last 1000). The
        properties are None on MQTT 3.1.1. Raises TimeoutError when none arrives in time.
        """
        with self._changed:
            message = self._changed.wait_for(lambda: self._inbox.take(topic_filter), timeout)
        if message is None:
            raise TimeoutError(f"no message on {topic_filter} within {timeout} s")
        return message

    def on_command(self, handler: CommandHandler) -> None:
        """Call ``handler(name, payload)`` for each JSON object arriving on ``cmd/<name>``.

        It runs on the MQTT network thread: keep it short and do not call ``request`` from it.
        """
        with self._lock:
            self._command_handler = handler

    # -- paho callbacks (network thread) -------------------------------------------------------

    @_logged
    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.warning("%s:%s refused the login: %s", self._host, self._port, reason_code)
            with self._changed:
                self._connect_failure = ConnectRefused(str(reason_code))
                self._changed.notify_all()
            return
        sock = client.socket()
        if isinstance(sock, socket.socket):
            # paho leaves Nagle on, which stalls every QoS 1 round trip by 40-80 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _, mid = client.subscribe([(topic, QOS) for topic in self._topics.subscriptions])
        with self._lock:
            self._session_up = True
            self._loop_thread = threading.get_ident()
            self._connect_sub_mid = mid
        client.publish(self._topics.status, online_status(self._fw), qos=QOS, retain=True)
        logger.info("connected to %s:%s as %s", self._host, self._port, self._topics.slug)

    @_logged
    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._changed:
            if self._session_up and not self._closing:
                self._disconnect_reason = str(reason_code)
                logger.warning("lost the broker connection: %s; reconnecting", reason_code)
            self._session_up = self._ready = False
            self._changed.notify_all()

    @_logged
    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._changed:
            if mid == self._connect_sub_mid:
                self._connect_sub_mid = None
                refused = [str(code) for code in reason_codes if code.is_failure]
                if refused:
                    logger.error("broker refused the subscriptions: %s", refused)
                    self._connect_failure = DeviceError(
                        f"the broker refused the subscriptions {self._topics.subscriptions}: "
                        f"{refused}"
                    )
                else:
                    self._ready = True
            else:
                self._subacks[mid] = reason_codes
            self._changed.notify_all()

    @_logged
    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        with self._lock:
            pending = self._requests.puback(mid, reason_code)
            if pending is not None and reason_code.is_failure:
                logger.warning("broker refused request %s: %s", pending.request_id, reason_code)
                pending.refuse(reason_code)

    @_logged
    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        topic, payload = msg.topic, bytes(msg.payload)
        properties = msg.properties if self._v5 else None
        if topic.startswith(self._topics.res_prefix) and self._claim_answer(payload, properties):
            return
        with self._changed:
            self._inbox.put((topic, payload, properties))
            self._changed.notify_all()
        if topic.startswith(self._topics.cmd_prefix):
            self._dispatch_command(topic.removeprefix(self._topics.cmd_prefix), payload)

    def _claim_answer(self, payload: bytes, properties: Properties | None) -> bool:
        """Hand an answer to the request waiting for it; False if none is."""
        try:
            decoded = json.loads(payload)
        except ValueError:
            logger.warning("ignoring an answer that is not JSON (%d bytes)", len(payload))
            return False
        if not isinstance(decoded, dict):
            logger.warning("ignoring an answer that is not a JSON object")
            return False
        correlation = getattr(properties, "CorrelationData", None)
        answer_id = decoded.get("id")
        with self._lock:
            pending = self._requests.match(correlation, answer_id)
            if pending is not None:
                pending.finish(Answer.from_json(decoded))
                return True
            if self._requests.finished_recently(answer_id):
                # The answer to an earlier copy of a retried request, or a QoS 1 redelivery.
                logger.debug("dropping a repeated answer to %s", answer_id)
                return True
        return False

    def _dispatch_command(self, name: str, payload: bytes) -> None:
        with self._lock:
            handler = self._command_handler
        if handler is None or not payload:  # empty: a retained command being cleared
            return
        try:
            decoded = json.loads(payload)
        except ValueError:
            logger.warning("ignoring command %s: not JSON", name)
            return
        if not isinstance(decoded, dict):
            logger.warning("ignoring command %s: not a JSON object", name)
            return
        try:
            handler(name, decoded)
        except Exception:
            logger.exception("command handler failed on %s", name)
