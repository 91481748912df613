"""Where in a frame the detector is called: the ways ``nvr bench`` measures nvr's against.

Each is a ``FrameDetector`` for ``Service.frame_detector``; the tracker settings that go
with one are in ``DETECT_SETTINGS``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nvr._fast.regions import region_for_box
from nvr.detection.frame import FrameDetector, ObjectDetection
from nvr.frames import Box


class WholeMotionArea(FrameDetector):
    """The baseline: one detector call per frame with motion, on one square region holding
    all of it; no tracked-object regions, refinement, still objects or re-checks."""

    async def detect(self, frame: np.ndarray, motion: Sequence[Box],
                     tracked: Sequence[tuple[str, Box]], recheck: Sequence[Box] = (),
                     still: Sequence[Box] = ()) -> tuple[list[ObjectDetection], list[Box]]:
        if not motion:
            return [], []
        union = (min(box[0] for box in motion), min(box[1] for box in motion),
                 max(box[2] for box in motion), max(box[3] for box in motion))
        region = region_for_box(union, self.width, self.height, 1.0)
        detections = self._suppress_duplicates(await self._detect_in(frame, [region]))
        return self.kept(detections, motion, tracked), [region]


class PreviousRules(FrameDetector):
    """nvr up to 5bdf3fd: every frame with motion searched, still objects included, no
    re-checks; with ``DETECT_SETTINGS`` objects end ``max_disappeared`` frames after they
    were last seen, looked at or not."""

    async def detect(self, frame: np.ndarray, motion: Sequence[Box],
                     tracked: Sequence[tuple[str, Box]], recheck: Sequence[Box] = (),
                     still: Sequence[Box] = ()) -> tuple[list[ObjectDetection], list[Box]]:
        return await super().detect(frame, motion, tracked)


STRATEGIES: dict[str, type[FrameDetector]] = {
    "nvr": FrameDetector,
    "previous": PreviousRules,
    "baseline": WholeMotionArea,
}
"""By name: nvr's own, its rules before visits were told apart, and the baseline."""

NEVER = 1e9  # s: an empty timeout that never ends an object
DETECT_SETTINGS: dict[str, dict[str, float]] = {
    "previous": {"empty_timeout": NEVER},
}
"""``detect:`` keys a strategy's cameras need (the others keep the defaults)."""
