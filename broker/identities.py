"""The broker account and client id each makerbus process connects with.

mosquitto drops a connection when another arrives with the same client id, whatever its
username, so an account free to pick its client id can knock a device or a worker offline.
Every account is therefore bound to one client id, its own username (devices: their slug).

mosquitto 2.0's dynamic security binds a username to exactly one client id, so processes of one
kind that run at the same time need an account each: a pool `<username>-1` … `<username>-<slots>`
sharing that kind's password. Each process is told its slot: a handler worker by
MAKERBUS_HANDLER_SLOT or `makerbus handlers --worker` (`--processes N` takes N slots from
there), an API process by MAKERBUS_MONITOR_SLOT (one monitor connection per API process: a
live view in it shares the status watcher's connection). Two connections on one slot take it
from each other in turns. The admin account is a single one: its sessions are serialised by the
device registry's lock (`broker.provisioning.open_device_broker`), so they never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings


@dataclass(frozen=True)
class Login:
    username: str
    password: str

    @property
    def client_id(self) -> str:
        """The one client id the broker accepts for this account."""
        return self.username


class SlotError(ValueError):
    """A process was given a slot its pool does not have."""


def _slot_name(username: str, slot: int) -> str:
    return f"{username}-{slot}"


def _pool(username: str, password: str, slots: int) -> tuple[Login, ...]:
    return tuple(Login(_slot_name(username, slot), password) for slot in range(1, slots + 1))


def _check(slot: int, slots: int, setting: str) -> None:
    if not 1 <= slot <= slots:
        raise SlotError(
            f"slot {slot} does not exist: the broker has {slots} such accounts "
            f"(MAKERBUS_{setting}); raise it and run `makerbus broker reconcile`"
        )


def handler_logins(settings: Settings) -> tuple[Login, ...]:
    return _pool(
        settings.broker_handler_username,
        settings.broker_handler_password,
        settings.broker_handler_slots,
    )


def monitor_logins(settings: Settings) -> tuple[Login, ...]:
    return _pool(
        settings.broker_monitor_username,
        settings.broker_monitor_password,
        settings.broker_monitor_slots,
    )


def handler_login(settings: Settings, slot: int) -> Login:
    """The account of handler worker `slot` (SlotError beyond the pool)."""
    _check(slot, settings.broker_handler_slots, "BROKER_HANDLER_SLOTS")
    return handler_logins(settings)[slot - 1]


def monitor_login(settings: Settings) -> Login:
    """This API process's read-only account (MAKERBUS_MONITOR_SLOT)."""
    _check(settings.monitor_slot, settings.broker_monitor_slots, "BROKER_MONITOR_SLOTS")
    return monitor_logins(settings)[settings.monitor_slot - 1]


def admin_login(settings: Settings) -> Login:
    return Login(settings.broker_admin_username, settings.broker_admin_password)
