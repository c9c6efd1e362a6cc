"""makerbus-device: the device side of the makerbus MQTT contract."""

from makerbus_device.answer import Answer
from makerbus_device.client import DeviceClient
from makerbus_device.errors import ConnectRefused, DeviceError, RequestTimeout
from makerbus_device.hardware import (
    CardReader,
    ConsoleReader,
    ConsoleRelay,
    Relay,
    SimulatedReader,
    SimulatedRelay,
)
from makerbus_device.machine import DeviceLink, MachineController

__all__ = [
    "Answer",
    "CardReader",
    "ConnectRefused",
    "ConsoleReader",
    "ConsoleRelay",
    "DeviceClient",
    "DeviceError",
    "DeviceLink",
    "MachineController",
    "Relay",
    "RequestTimeout",
    "SimulatedReader",
    "SimulatedRelay",
]
