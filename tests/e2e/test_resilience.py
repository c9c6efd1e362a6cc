"""The handler service outlives broker restarts and stops gracefully."""

from __future__ import annotations

import signal

from tests.e2e.stack import Stack, wait_until


def test_handlers_reconnect_by_themselves_after_the_broker_is_killed(own_stack: Stack) -> None:
    device = own_stack.device(own_stack.provision())
    assert device.request("device/config").ok
    log_size = len(own_stack.handler_log.read_text())

    own_stack.broker.kill()
    own_stack.broker.start()

    own_stack.wait_for_log("serving requests", timeout=30, after=log_size)
    assert wait_until(lambda: device.connected, 30)
    assert device.request("device/config", timeout=5.0).ok
    assert own_stack.handler.poll() is None


def test_sigterm_stops_the_service_cleanly(own_stack: Stack) -> None:

    own_stack.handler.send_signal(signal.SIGTERM)

    assert own_stack.handler.wait(15) == 0
    assert "draining in-flight requests" in own_stack.log_tail()
