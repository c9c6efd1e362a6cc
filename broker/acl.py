"""Who may do what on the broker: one role per device, one per service account.

mosquitto 2.0's dynamic security plugin has no `%c`/`%u` ACL patterns, so every device gets a
role of its own naming exactly its topics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from broker.topics import Topics

AclType = Literal[
    "publishClientSend",
    "publishClientReceive",
    "subscribeLiteral",
    "subscribePattern",
    "unsubscribeLiteral",
    "unsubscribePattern",
]

DEVICE_GROUP = "makerbus-devices"
DEVICE_ROLE_PREFIX = "makerbus-device-"
ADMIN_ROLE = "makerbus-admin"
HANDLER_ROLE = "makerbus-handlers"
MONITOR_ROLE = "makerbus-monitor"
DYNSEC_CONTROL = "$CONTROL/dynamic-security/#"


@dataclass(frozen=True, order=True)
class Acl:
    acltype: AclType
    topic: str
    allow: bool = True

    def as_json(self) -> dict[str, object]:
        return {"acltype": self.acltype, "topic": self.topic, "allow": self.allow, "priority": 0}


def device_role(slug: str) -> str:
    return f"{DEVICE_ROLE_PREFIX}{slug}"


def device_acls(topics: Topics, slug: str) -> tuple[Acl, ...]:
    """Publish only requests and status, subscribe only to own answers and commands."""
    root = topics.device_root(slug)
    return (
        Acl("publishClientSend", f"{root}/req/#"),
        Acl("publishClientSend", f"{root}/status"),
        Acl("subscribePattern", f"{root}/res/#"),
        Acl("subscribePattern", f"{root}/cmd/#"),
    )


def handler_acls(topics: Topics, share_group: str) -> tuple[Acl, ...]:
    """Read every request (shared or not), answer and command any device, read status.

    Publishing under `req/` is only for clearing a retained request (a zero-length retained
    message); dynsec cannot narrow a grant to that, the handler service never sends another.
    """
    # A $share subscription is checked against its literal `$share/<group>/…` filter.
    return (
        Acl("subscribePattern", topics.shared_requests(share_group)),
        Acl("subscribePattern", topics.all_requests),
        Acl("subscribePattern", f"{topics.prefix}/+/status"),
        Acl("publishClientSend", f"{topics.prefix}/+/res/#"),
        Acl("publishClientSend", f"{topics.prefix}/+/cmd/#"),
        Acl("publishClientSend", topics.all_requests),
    )


def monitor_acls(topics: Topics) -> tuple[Acl, ...]:
    """Watch all makerbus traffic and the broker's own statistics; publish nothing."""
    return (
        Acl("subscribePattern", f"{topics.prefix}/#"),
        Acl("subscribePattern", "$SYS/#"),
    )


def admin_acls() -> tuple[Acl, ...]:
    return (
        Acl("publishClientSend", DYNSEC_CONTROL),
        Acl("publishClientReceive", DYNSEC_CONTROL),
        Acl("subscribePattern", DYNSEC_CONTROL),
        Acl("subscribePattern", "$SYS/#"),
    )
