"""The floors the API is measured against: bare ASGI apps on the same Hypercorn, no framework.

``FloorApp`` answers ``GET /body/<name>`` with a registered constant body (what a route
costs when the server does nothing but send its bytes) and ``GET /stream?fps=N`` with an
MJPEG stream of one constant part, each viewer in its own loop (what a viewer costs when
nothing is rendered, shared or framed by a web framework).
"""

from __future__ import annotations

from typing import Any

import trio
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from nvr.web.mjpeg import MJPEG_TYPE


class FloorApp:
    """A bare ASGI app: constant bodies and a constant MJPEG stream."""

    def __init__(self, part: bytes) -> None:
        self.part = part
        self.bodies: dict[str, tuple[bytes, bytes]] = {}  # name -> (content type, body)

    def add_body(self, name: str, content_type: str, body: bytes) -> str:
        """Serve ``body`` at the path returned."""
        self.bodies[name] = (content_type.encode(), body)
        return f"/body/{name}"

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable,
                       send: ASGISendCallable) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope["path"]
        if path == "/stream":
            fps = int(dict(pair.split("=") for pair in scope["query_string"].decode().split("&")
                           if pair)["fps"])
            await self._stream(send, fps)
        else:
            content_type, body = self.bodies[path.removeprefix("/body/")]
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", content_type),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _stream(self, send: ASGISendCallable, fps: int) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", MJPEG_TYPE.encode())]})
        next_tick = trio.current_time()
        while True:
            await send({"type": "http.response.body", "body": self.part, "more_body": True})
            next_tick = max(next_tick + 1 / fps, trio.current_time())
            await trio.sleep_until(next_tick)

    @staticmethod
    async def _lifespan(receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        while True:
            message: Any = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
