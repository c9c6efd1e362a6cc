"""`makerbus handlers` on one host: several workers of one command, and clear refusals."""

from __future__ import annotations

from tests.e2e.stack import Stack


def test_second_handlers_on_a_busy_metrics_port_is_a_clear_error(stack: Stack) -> None:
    busy = str(stack.metrics_port)  # the stack's worker serves it

    result = stack.cli("handlers", check=False, env={"MAKERBUS_METRICS_PORT": busy})

    assert result.returncode == 1
    assert f"port {stack.metrics_port}" in result.stderr
    assert "Traceback" not in result.stderr
