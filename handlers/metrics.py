"""Prometheus metrics of the handler service (served on MAKERBUS_METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("makerbus_requests_total", "Device requests handled, by operation.", ["op"])
ERRORS = Counter(
    "makerbus_request_errors_total", "Error answers sent, by operation and code.", ["op", "code"]
)
REPLAYS = Counter(
    "makerbus_request_replays_total", "Retries answered from the idempotency store.", ["op"]
)
LATENCY = Histogram(
    "makerbus_request_duration_seconds",
    "Time from receiving a request to having its answer, by operation.",
    ["op"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
CONNECTED = Gauge("makerbus_broker_connected", "1 while connected to the broker.")
RECONNECTS = Counter("makerbus_broker_reconnects_total", "Connection attempts after a loss.")
