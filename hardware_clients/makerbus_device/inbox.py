"""The buffer of received messages that no pending request claimed."""

from collections import deque

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties

Message = tuple[str, bytes, Properties | None]
"""A received message: topic, payload and (MQTT 5 only) its properties."""

_SIZE = 1000


class Inbox:
    """The last 1000 unclaimed messages, oldest first; older ones are dropped.

    Not locked on its own: DeviceClient calls it while holding its lock, and waits on that lock's
    condition for a message to arrive.
    """

    def __init__(self) -> None:
        self._messages: deque[Message] = deque(maxlen=_SIZE)

    def put(self, message: Message) -> None:
        self._messages.append(message)

    def take(self, topic_filter: str) -> Message | None:
        """Remove and return the oldest message matching ``topic_filter``, if there is one."""
        for index, message in enumerate(self._messages):
            if mqtt.topic_matches_sub(topic_filter, message[0]):
                del self._messages[index]
                return message
        return None
