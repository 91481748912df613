"""Messages waiting for the broker: bounded, so that a slow or absent broker costs memory
that is capped and never blocks a camera.

Two kinds of message wait here. A *state* (availability, switch states, snapshots, object
counts) is the latest value of its topic: a newer value replaces one not yet sent (the older
counts as dropped), and every state is sent again after a reconnect, so a broker that lost
them or a client that missed them catches up. A *queued* message (events, stats) is sent once,
in order; its queue keeps the newest ``limit`` and drops the oldest.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import trio


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 0


class Outbox:
    """What is to be published, waiting for the connection to take it in batches."""

    def __init__(self, limits: dict[str, int]) -> None:
        self._queues: dict[str, deque[Message]] = {kind: deque() for kind in limits}
        self._limits = limits
        self._states: dict[str, Message] = {}
        self._unsent_states: dict[str, Message] = {}
        self._waiting = trio.Event()
        self.dropped = 0

    def set_state(self, message: Message) -> None:
        """Make ``message`` the value of its topic: sent now (unless it is the value already)
        and after every reconnect."""
        if self._states.get(message.topic) == message:
            return
        if message.topic in self._unsent_states:
            self.dropped += 1
        self._states[message.topic] = self._unsent_states[message.topic] = message
        self._waiting.set()

    def resend(self, topic: str) -> None:
        """Send the value of ``topic`` again, if it has one."""
        if (message := self._states.get(topic)) is not None:
            self._unsent_states[topic] = message
            self._waiting.set()

    def queue(self, kind: str, message: Message) -> None:
        """Send ``message`` once; the oldest of its kind is dropped past the kind's limit."""
        waiting = self._queues[kind]
        if len(waiting) == self._limits[kind]:
            waiting.popleft()
            self.dropped += 1
        waiting.append(message)
        self._waiting.set()

    def reconnected(self) -> None:
        """A new connection: every state goes out again."""
        self._unsent_states = dict(self._states)
        if self._unsent_states:
            self._waiting.set()

    def nudge(self) -> None:
        """Wake ``wait`` although nothing was added (the connection has bytes to write)."""
        self._waiting.set()

    async def wait(self) -> None:
        """Until there is something to take, or ``nudge`` was called."""
        if not self._unsent_states and not any(self._queues.values()):
            await self._waiting.wait()
        self._waiting = trio.Event()

    def take(self) -> list[Message]:
        """Every message waiting: states first, then each queue in turn."""
        batch = list(self._unsent_states.values())
        self._unsent_states.clear()
        for waiting in self._queues.values():
            batch.extend(waiting)
            waiting.clear()
        return batch
