"""The exceptions the device SDK raises."""


class DeviceError(Exception):
    """Base class of every error raised by makerbus_device."""


class RequestTimeout(DeviceError):
    """No answer arrived, even after sending the request again ``retries`` times."""

    def __init__(self, op: str, request_id: str, attempts: int) -> None:
        super().__init__(f"no answer to {op} (id {request_id}) after {attempts} attempt(s)")
        self.op = op
        self.request_id = request_id
        self.attempts = attempts


class ConnectRefused(DeviceError):
    """The broker refused the CONNECT, e.g. a wrong password or a disabled device."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the broker refused the connection: {reason}")
        self.reason = reason
