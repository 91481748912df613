"""One rendering per key, shared by every concurrent and later asker of the same frame."""

from __future__ import annotations

from collections.abc import Callable, Hashable

import trio


class RenderFailed(Exception):
    """The shared rendering of a frame failed (the cause is chained)."""


class _Render:
    def __init__(self) -> None:
        self.done = trio.Event()
        self.result: bytes | None = None
        self.error: BaseException | None = None


class SharedRenders:
    """Renders keyed by (frame index, ...) for the current frame only.

    The first asker runs ``render`` in a worker thread; everyone else asking for the same key
    waits for that result. Keys of older frames are forgotten as soon as a newer one is asked
    for, so memory stays at one frame's worth of JPEGs.
    """

    def __init__(self) -> None:
        self._frame_index = -1
        self._renders: dict[Hashable, _Render] = {}
        self.rendered = 0

    async def get(self, frame_index: int, key: Hashable, render: Callable[[], bytes]) -> bytes:
        if frame_index != self._frame_index:
            if frame_index < self._frame_index:
                # A request that started on an older frame: render it on its own.
                return await trio.to_thread.run_sync(render)
            self._frame_index, self._renders = frame_index, {}
        entry = self._renders.get(key)
        if entry is None:
            entry = self._renders[key] = _Render()
            # Shielded: a viewer that leaves mid-render must not leave the others waiting.
            with trio.CancelScope(shield=True):
                try:
                    entry.result = await trio.to_thread.run_sync(render)
                    self.rendered += 1
                except Exception as error:
                    entry.error = error
                    self._renders.pop(key, None)
                finally:
                    entry.done.set()
        await entry.done.wait()
        if entry.error is not None:
            raise RenderFailed(f"rendering frame {frame_index} failed") from entry.error
        assert entry.result is not None
        return entry.result
