"""`makerbus handlers --processes N`: which slot and metrics port each worker gets."""

from __future__ import annotations

import pytest

from makerbus.workers import Worker, plan
from tests.secrets_for_tests import production_settings


def test_processes_take_consecutive_slots_and_metrics_ports() -> None:
    settings = production_settings(handler_slot=3, metrics_port=9200)

    workers = plan(settings, 2)

    assert workers == [
        Worker(3, "makerbus-handlers-3", 9200),
        Worker(4, "makerbus-handlers-4", 9201),
    ]


def test_processes_without_metrics_serve_none() -> None:
    settings = production_settings(metrics_port=0)

    assert [worker.metrics_port for worker in plan(settings, 2)] == [0, 0]


def test_processes_past_the_last_port_are_refused() -> None:
    settings = production_settings(metrics_port=65535)

    with pytest.raises(ValueError, match="do not all exist"):
        plan(settings, 2)
