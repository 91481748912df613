"""MJPEG streams: one broadcast per (camera, height, fps, overlays), shared by its viewers.

A broadcast task wakes once per output frame, takes the camera's latest JPEG at the stream's
height and overlays (one encode, shared with latest.jpg requests asking the same), builds the
multipart part once and hands the same bytes to every viewer. Viewers only send: a slow viewer
picks up the newest part when its send returns, so it skips parts and never holds up the
others. The first viewer of a stream starts its task; the last one leaving stops it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from nvr.live_view import LiveView
from nvr.render.overlays import OverlayFlags
from nvr.render.shared import RenderFailed

log = logging.getLogger(__name__)

MJPEG_TYPE = "multipart/x-mixed-replace; boundary=frame"
PART_HEAD = b"--frame\r\nContent-Type: image/jpeg\r\n\r\n"
PART_TAIL = b"\r\n\r\n"
DEFAULT_FPS, DEFAULT_HEIGHT = 3, 360  # of /api/<camera> without a query (Frigate 0.8's)


@dataclass(frozen=True)
class StreamKey:
    """What makes two viewers' streams the same."""

    camera: str
    height: int
    fps: int
    flags: OverlayFlags


class Broadcast:
    """The parts of one stream: ``run`` makes them, ``parts`` gives them to one viewer."""

    def __init__(self, live: LiveView, key: StreamKey) -> None:
        self.live, self.key = live, key
        self.viewers = 0
        self.parts_built = 0
        self.cancel_scope = trio.CancelScope()
        self._part = b""
        self._sequence = 0  # of the part published last; 0: none yet
        self._published = trio.Event()
        self.ended = False

    async def run(self) -> None:
        """Publish a part every 1/fps s until cancelled (the last viewer left)."""
        jpeg: bytes | None = None
        try:
            with self.cancel_scope:
                next_tick = trio.current_time()
                while True:
                    latest = await self._jpeg()
                    if latest is not None:
                        if latest is not jpeg:  # the same bytes object: the same frame
                            jpeg, self._part = latest, PART_HEAD + latest + PART_TAIL
                            self.parts_built += 1
                        self._publish()
                    next_tick = max(next_tick + 1 / self.key.fps, trio.current_time())
                    await trio.sleep_until(next_tick)
        except Exception:
            log.exception("%s: the MJPEG stream %s failed; its viewers are disconnected",
                          self.key.camera, self.key)
        finally:
            self.ended = True
            self._publish()

    async def _jpeg(self) -> bytes | None:
        try:
            return await self.live.jpeg(self.key.height, self.key.flags)
        except RenderFailed as error:
            log.warning("%s: an MJPEG frame was not drawn: %s", self.key.camera, error.__cause__)
            return None

    def _publish(self) -> None:
        self._sequence += 1
        published, self._published = self._published, trio.Event()
        published.set()

    async def parts(self) -> AsyncIterator[bytes]:
        """Each newest part from now on (skipping those published while the viewer sent)."""
        seen = self._sequence if not self._part else self._sequence - 1
        while not self.ended:
            if self._sequence == seen:
                await self._published.wait()
                continue
            seen = self._sequence
            yield self._part


class MjpegStreams:
    """The streams being watched, each with its broadcast task in ``nursery``."""

    def __init__(self) -> None:
        self._broadcasts: dict[StreamKey, Broadcast] = {}

    def __len__(self) -> int:
        return len(self._broadcasts)

    def broadcasts(self) -> list[Broadcast]:
        """The streams watched now."""
        return list(self._broadcasts.values())

    @asynccontextmanager
    async def watch(self, nursery: trio.Nursery, live: LiveView,
                    key: StreamKey) -> AsyncIterator[Broadcast]:
        """The broadcast of ``key`` while one more viewer watches it (started if needed)."""
        broadcast = self._broadcasts.get(key)
        if broadcast is None or broadcast.ended:  # a failed one is replaced
            broadcast = self._broadcasts[key] = Broadcast(live, key)
            nursery.start_soon(broadcast.run)
        broadcast.viewers += 1
        live.viewers += 1
        try:
            yield broadcast
        finally:
            broadcast.viewers -= 1
            live.viewers -= 1
            if broadcast.viewers == 0:
                broadcast.cancel_scope.cancel()
                if self._broadcasts.get(key) is broadcast:
                    del self._broadcasts[key]
