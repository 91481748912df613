"""The best object per label of a camera, behind ``best.jpg`` (Frigate 0.8:
docs/compatibility.md#object-state).

Unlike Frigate 0.8, which forgot them on restart, each best frame is also written to a
folder (``<label>.npy`` with the I420 frame, ``<label>.json`` with the detection) and read
back at start-up.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from nvr._fast.i420 import frame_size
from nvr.files import write_atomically
from nvr.tracking.objects import BestFrame

log = logging.getLogger(__name__)


class BestObjects:
    """The best frame per label, replaced by a better one or once older than ``timeout`` s."""

    def __init__(self, folder: Path | None, timeout: float) -> None:
        self.folder = folder
        self.timeout = timeout
        self.frames: dict[str, BestFrame] = {}
        self._chosen_at: dict[str, float] = {}
        self._unsaved: set[str] = set()

    def offer(self, best: BestFrame, now: float | None = None) -> bool:
        """Consider an object's new best frame; True if it became the label's best."""
        now = time.time() if now is None else now
        current = self.frames.get(best.label)
        if (current is not None and not current.is_better(best)
                and now - self._chosen_at[best.label] <= self.timeout):
            return False
        self.frames[best.label] = best
        self._chosen_at[best.label] = now
        self._unsaved.add(best.label)
        return True

    def take_unsaved(self) -> list[BestFrame]:
        """The frames chosen since the last call, to be given to ``save``."""
        unsaved, self._unsaved = self._unsaved, set()
        return [self.frames[label] for label in sorted(unsaved)]

    def save(self, frames: list[BestFrame]) -> None:
        """Write ``frames`` to the folder (blocking: call it in a thread)."""
        if self.folder is None:
            return
        for best in frames:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                write_atomically(self.folder / f"{best.label}.npy", best.buffer.tobytes())
                details = {field.name: getattr(best, field.name) for field in fields(best)
                           if field.name != "buffer"}
                write_atomically(self.folder / f"{best.label}.json", json.dumps(details).encode())
            except OSError as error:
                log.warning("cannot save the best %s image in %s: %s", best.label, self.folder,
                            error)

    def load(self, width: int, height: int) -> None:
        """Read the frames saved by an earlier run (blocking); unreadable ones are skipped."""
        if self.folder is None or not self.folder.is_dir():
            return
        for details_path in sorted(self.folder.glob("*.json")):
            try:
                details = json.loads(details_path.read_text())
                buffer = np.fromfile(details_path.with_suffix(".npy"), np.uint8)
                for key in ("box", "region"):
                    details[key] = tuple(details[key])
                best = BestFrame(buffer=buffer, **details)
            except (OSError, ValueError, TypeError, KeyError) as error:
                log.warning("ignoring the saved best image %s: %s", details_path, error)
                continue
            if (best.width, best.height) != (width, height) or buffer.size != frame_size(
                    width, height):
                continue  # the camera's size changed since
            self.frames[best.label] = best
            self._chosen_at[best.label] = best.time

