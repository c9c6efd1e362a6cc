"""The topic contract: `<prefix>/<slug>/req/<op>`, `res/<op>`, `status`, `cmd/<name>`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.formats import SLUG_PATTERN

_SLUG = re.compile(SLUG_PATTERN)
MAX_RESPONSE_TOPIC_LENGTH = 256


@dataclass(frozen=True)
class RequestTopic:
    slug: str
    op: str


@dataclass(frozen=True)
class Topics:
    """Builds and parses the topics of one deployment (its prefix is a setting)."""

    prefix: str = "mkr/v1"

    def request(self, slug: str, op: str) -> str:
        return f"{self.prefix}/{slug}/req/{op}"

    def response(self, slug: str, op: str) -> str:
        return f"{self.prefix}/{slug}/res/{op}"

    def status(self, slug: str) -> str:
        return f"{self.prefix}/{slug}/status"

    def command(self, slug: str, name: str) -> str:
        return f"{self.prefix}/{slug}/cmd/{name}"

    def device_root(self, slug: str) -> str:
        return f"{self.prefix}/{slug}"

    @property
    def all_requests(self) -> str:
        return f"{self.prefix}/+/req/#"

    def shared_requests(self, group: str) -> str:
        return f"$share/{group}/{self.all_requests}"

    def parse_request(self, topic: str) -> RequestTopic | None:
        """The device and op of a request topic, or None when it is not one.

        An op that is syntactically odd still parses (the caller answers `unknown_op`), and so
        does a missing one (`req/` or `req`, which `req/#` also matches: op ""; the caller
        answers `bad_request`); only a topic that does not name a device's request is rejected.
        """
        head = f"{self.prefix}/"
        if not topic.startswith(head):
            return None
        rest = topic[len(head) :]
        slug, sep, op = (rest + "/" if rest.endswith("/req") else rest).partition("/req/")
        if not sep or not _SLUG.match(slug):
            return None
        return RequestTopic(slug=slug, op=op)

    def is_own_response_topic(self, slug: str, topic: str) -> bool:
        """Whether an MQTT 5 response topic is safe to answer on: below this device's `res/`."""
        own = f"{self.prefix}/{slug}/res/"
        return (
            topic.startswith(own)
            and len(topic) > len(own)
            and len(topic) <= MAX_RESPONSE_TOPIC_LENGTH
            and not any(ch in topic for ch in "+#\x00")
        )
