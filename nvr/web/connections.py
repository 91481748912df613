"""How nvr's HTTP connections end and how many there may be: a fix to Hypercorn 0.18's Trio
worker and a cap on connections, installed by ``nvr.service.serve_http``.

The fix: after a response, Hypercorn tells its TCP server about the connection
(``protocol_send``: restart the keep-alive timer, or close) from inside the ASGI app's task,
which Quart-Trio has cancelled by then. So the keep-alive timer, started with
``nursery.start`` from a cancelled task, dies at once (or its lock raises ``Cancelled``) and an
idle keep-alive connection is never closed; and the close that ``Connection: close`` asks for
stops at its first checkpoint. Shielding ``protocol_send`` from the caller's cancellation
(Hypercorn already shields the sends of data in it) fixes both; the change can go upstream as
it is.

The cap: at most ``web.max_connections`` open connections (and never so many that nvr's own
files, segments and ffmpeg pipes run out of descriptors), at most
``web.max_connections_per_client`` from one address; a connection past either gets a JSON 503
and is closed. ``tests/test_http_connections.py`` checks both, and fails if a new Hypercorn
changes this behaviour.
"""

from __future__ import annotations

import contextlib
import json
import resource
from collections import Counter

import trio
from hypercorn.events import Event
from hypercorn.trio import tcp_server

from nvr.config.schema import WebConfig

DESCRIPTOR_RESERVE = 256  # kept for files, segments, ffmpeg pipes and the database
REFUSAL_TIMEOUT = 1.0  # s a refused client gets to read its 503

_BODY = json.dumps({"success": False,
                    "message": "Too many connections; try again later"}).encode()
REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
           b"content-length: %d\r\nconnection: close\r\n\r\n" % len(_BODY)) + _BODY


class ConnectionLimits:
    """Open connections, in all and per client address, against their caps."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total, self.per_client = total, per_client
        self.open: Counter[str] = Counter()

    def admit(self, client: str) -> bool:
        """Count a new connection from ``client`` in, if both caps allow it."""
        if self.open.total() >= self.total or self.open[client] >= self.per_client:
            return False
        self.open[client] += 1
        return True

    def release(self, client: str) -> None:
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]


def descriptor_cap(wanted: int) -> int:
    """``wanted``, lowered so that the reserve of descriptors stays free."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - DESCRIPTOR_RESERVE))


_limits = ConnectionLimits(1, 1)  # replaced by install()
_protocol_send = tcp_server.TCPServer.protocol_send
_run = tcp_server.TCPServer.run


async def _shielded_protocol_send(self: tcp_server.TCPServer, event: Event) -> None:
    with trio.CancelScope(shield=True):
        await _protocol_send(self, event)


async def _limited_run(self: tcp_server.TCPServer) -> None:
    limits = _limits
    try:
        client = str(self.stream.socket.getpeername()[0])  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        client = "?"
    if not limits.admit(client):
        gone = (trio.BrokenResourceError, trio.ClosedResourceError)
        with trio.move_on_after(REFUSAL_TIMEOUT), contextlib.suppress(*gone):
            await self.stream.send_all(REFUSAL)
        await self.stream.aclose()
        return
    try:
        await _run(self)
    finally:
        limits.release(client)


def install(web: WebConfig) -> ConnectionLimits:
    """Apply the fix and the caps of ``web`` (again: the new caps); returns the counts."""
    global _limits
    _limits = ConnectionLimits(descriptor_cap(web.max_connections),
                               web.max_connections_per_client)
    tcp_server.TCPServer.protocol_send = _shielded_protocol_send  # type: ignore[method-assign]
    tcp_server.TCPServer.run = _limited_run  # type: ignore[method-assign]
    return _limits
