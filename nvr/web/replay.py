"""Replayed answers: the last response of each polled query, sent again without the web
framework for as long as what it was built from is unchanged.

Home Assistant and REST sensors ask the same few questions over and over (the events list,
the summary, the version, the config, the stats) while the answers change only when an event
is written, a switch is flipped or (the stats) a second has passed. ``ReplayCache`` sits in
front of the Quart app as ASGI middleware: a GET of a path it knows, whose *stamp* (the event
store's generation, the switches, the uptime second) is the one its stored answer was built
under, is answered with that answer's exact bytes (status, headers, body) and reaches neither
Quart nor SQLite. Anything else (other paths and methods, an ``Origin`` header, whose CORS
headers are per request, errors, large bodies) goes to the app as before.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

ASGIApp = Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], Any]
Stamp = Callable[[], Hashable]

MAX_BODY = 1 << 20  # larger answers (thousands of events with thumbnails) are not kept
MAX_TOTAL = 16 << 20  # bytes of bodies kept in all, least recently used dropped first


@dataclass(frozen=True)
class Answer:
    """A complete 200 response, and the stamp it was built under."""

    stamp: Hashable
    start: dict[str, Any]  # the http.response.start message
    body: bytes


class ReplayCache:
    """ASGI middleware replaying ``app``'s answers to GETs of the paths in ``stamps``.

    ``stamps`` maps a path to a function returning what its answers depend on; an answer is
    replayed while that function returns what it returned before the answer was built (None:
    do not replay).
    """

    def __init__(self, app: ASGIApp, stamps: Mapping[str, Stamp]) -> None:
        self.app = app
        self.stamps = dict(stamps)
        self.answers: OrderedDict[tuple[str, bytes], Answer] = OrderedDict()
        self.kept_bytes = 0
        self.replayed = 0

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable,
                       send: ASGISendCallable) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET"
                or (stamp_of := self.stamps.get(scope["path"])) is None
                or any(name == b"origin" for name, _ in scope["headers"])):
            await self.app(scope, receive, send)
            return
        stamp = stamp_of()
        key = (scope["path"], scope["query_string"])
        answer = self.answers.get(key)
        if answer is not None and stamp is not None and answer.stamp == stamp:
            self.answers.move_to_end(key)
            self.replayed += 1
            await send(answer.start)  # type: ignore[arg-type]
            await send({"type": "http.response.body", "body": answer.body, "more_body": False})
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and start.get("status") == 200:
                    self._keep(key, Answer(stamp, start, b"".join(chunks)))
            await send(message)

        await self.app(scope, receive, recording_send)

    def _keep(self, key: tuple[str, bytes], answer: Answer) -> None:
        if answer.stamp is None or len(answer.body) > MAX_BODY:
            return
        old = self.answers.pop(key, None)
        if old is not None:
            self.kept_bytes -= len(old.body)
        self.answers[key] = answer
        self.kept_bytes += len(answer.body)
        while self.kept_bytes > MAX_TOTAL:
            _, dropped = self.answers.popitem(last=False)
            self.kept_bytes -= len(dropped.body)
