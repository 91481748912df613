"""A fix to Hypercorn 0.18's Trio worker, installed by ``nvr.service.serve_http``.

After a response, Hypercorn tells its TCP server about the connection (``protocol_send``:
restart the keep-alive timer, or close) from inside the ASGI app's task, which Quart-Trio has
cancelled by then. So the keep-alive timer, started with ``nursery.start`` from a cancelled
task, dies at once (or its lock raises ``Cancelled``) and an idle keep-alive connection is never
closed; and the close that ``Connection: close`` asks for stops at its first checkpoint. Thousands
of such connections exhaust the service's descriptors. The fix: ``protocol_send`` shielded
from the caller's cancellation (Hypercorn already shields the sends of data in it), a
one-line change that can go upstream as it is. ``tests/test_http_connections.py`` fails if a
new Hypercorn changes this behaviour.
"""

from __future__ import annotations

import trio
from hypercorn.events import Event
from hypercorn.trio import tcp_server

_protocol_send = tcp_server.TCPServer.protocol_send


async def _shielded_protocol_send(self: tcp_server.TCPServer, event: Event) -> None:
    with trio.CancelScope(shield=True):
        await _protocol_send(self, event)


def install() -> None:
    """Apply the fix (idempotent)."""
    tcp_server.TCPServer.protocol_send = _shielded_protocol_send  # type: ignore[method-assign]
