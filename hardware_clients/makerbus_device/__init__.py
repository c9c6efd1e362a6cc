"""makerbus-device: the device side of the makerbus MQTT contract."""

from makerbus_device.answer import Answer
from makerbus_device.client import DeviceClient
from makerbus_device.errors import ConnectRefused, DeviceError, RequestTimeout

__all__ = ["Answer", "ConnectRefused", "DeviceClient", "DeviceError", "RequestTimeout"]
