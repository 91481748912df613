"""Where in a frame the detector is called: the ways ``nvr bench`` measures nvr's against.

Each is a ``FrameDetector`` for ``Service.frame_detector``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nvr._fast.regions import region_for_box
from nvr.detection.frame import FrameDetector, ObjectDetection
from nvr.frames import Box


class WholeMotionArea(FrameDetector):
    """The baseline: one detector call per frame with motion, on one square region holding
    all of it; no regions around tracked objects, no refinement, no still objects skipped,
    no re-checks. What it finds is kept by nvr's rule (``FrameDetector.kept``)."""

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
    """nvr up to 5bdf3fd, nearly: every frame with motion searched, still objects included,
    no re-checks; and the tracker is told nothing was searched, so that objects end
    ``max_disappeared`` frames after they were last seen, looked at or not. Unlike then, the
    frames without the object add no score to it (so scores do not fall while it is unseen),
    and a detection touching a tracked object of its label is kept without motion."""

    async def detect(self, frame: np.ndarray, motion: Sequence[Box],
                     tracked: Sequence[tuple[str, Box]], recheck: Sequence[Box] = (),
                     still: Sequence[Box] = ()) -> tuple[list[ObjectDetection], list[Box]]:
        detections, _ = await super().detect(frame, motion, tracked)
        return detections, []


STRATEGIES: dict[str, type[FrameDetector]] = {
    "nvr": FrameDetector,
    "previous": PreviousRules,
    "baseline": WholeMotionArea,
}
"""By name: nvr's own, its rules before visits were told apart, and the baseline."""
