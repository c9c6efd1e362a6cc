"""makerbus-device: the device side of the makerbus MQTT contract."""

from makerbus_device.answer import Answer
from makerbus_device.bankomat import Bankomat
from makerbus_device.cash_book import Backoff
from makerbus_device.cash_journal import Booking, CashJournal, JournalError
from makerbus_device.checkout import BasketLine, CheckoutTerminal
from makerbus_device.client import DeviceClient
from makerbus_device.console import BankomatConsole, CheckoutConsole, RentalConsole
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
from makerbus_device.peripherals import (
    BarcodeScanner,
    CashAcceptor,
    Choice,
    Key,
    Keypad,
    Payout,
    PinPad,
    SimulatedCashAcceptor,
    SimulatedKeypad,
    SimulatedPinPad,
    SimulatedScanner,
    SimulatedTagReader,
    TagReader,
    Transfer,
)
from makerbus_device.rental_station import RentalStation
from makerbus_device.terminal import Refused, ServerLink

__all__ = [
    "Answer",
    "Backoff",
    "Bankomat",
    "BankomatConsole",
    "BarcodeScanner",
    "BasketLine",
    "Booking",
    "CardReader",
    "CashAcceptor",
    "CashJournal",
    "CheckoutConsole",
    "CheckoutTerminal",
    "Choice",
    "ConnectRefused",
    "ConsoleReader",
    "ConsoleRelay",
    "DeviceClient",
    "DeviceError",
    "DeviceLink",
    "JournalError",
    "Key",
    "Keypad",
    "MachineController",
    "Payout",
    "PinPad",
    "Refused",
    "Relay",
    "RentalConsole",
    "RentalStation",
    "RequestTimeout",
    "ServerLink",
    "SimulatedCashAcceptor",
    "SimulatedKeypad",
    "SimulatedPinPad",
    "SimulatedReader",
    "SimulatedRelay",
    "SimulatedScanner",
    "SimulatedTagReader",
    "TagReader",
    "Transfer",
]
