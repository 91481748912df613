"""The motion kernel against its NumPy reference, on generated scenes and real footage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from motion_reference import ReferenceMotionDetector

from nvr._fast.motion import MotionDetector
from nvr.capture.decode import decode_file, split_frames
from nvr.config.polygons import Polygon
from nvr.frames import Box, new_frame, planes
from nvr.masks import polygon_mask
from support import shared_file

VIDEO = "media/intel_one_by_one_person_detection_768x432.mp4"
WIDTH, HEIGHT, FPS = 768, 432, 10
DEFAULTS = {"frame_height": HEIGHT // 6}  # as the service sets it; the rest are defaults
# Where people walk in the footage: in from the bottom left, up to the table and back.
WALKWAY: Polygon = [(300, 0), (620, 0), (620, 432), (140, 432), (140, 300)]
WINDOW: Polygon = [(0, 0), (110, 0), (110, 170), (0, 170)]  # nobody goes there


@dataclass(frozen=True)
class Scene:
    """Frames of a few rectangles moving (or parked) on a noisy background."""

    width: int
    height: int
    frames: int
    seed: int
    noise: int

    def render(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        background = rng.integers(0, 256, (self.height, self.width)).astype(np.int16)
        objects = rng.integers(0, 256, (rng.integers(1, 5), 6))  # x, y, size, dx, dy, shade
        for t in range(self.frames):
            frame = background + rng.integers(-self.noise, self.noise + 1, background.shape)
            for x, y, size, dx, dy, shade in objects:
                left = (x + t * (dx % 7 - 3)) % self.width
                top = (y + t * (dy % 5 - 2)) % self.height
                frame[top:top + size % 16 + 1, left:left + size % 16 + 1] = shade
            if t == self.frames // 2 and rng.random() < 0.2:
                background = 255 - background  # the lights go off
            yield np.clip(frame, 0, 255).astype(np.uint8)


alphas = st.sampled_from([0.0, 0.05, 0.2, 0.5, 1.0]) | st.floats(0.01, 1.0)


@st.composite
def scenes(draw: st.DrawFn) -> tuple[Scene, dict]:
    """A scene and detector options: a few scenes end during warm-up, most run past it."""
    width, height = draw(st.integers(2, 40)), draw(st.integers(1, 40))
    frame_height = draw(st.integers(1, 2 * height).filter(lambda h: h * width // height > 0))
    polygon = draw(st.none() | st.lists(
        st.tuples(st.integers(0, width), st.integers(0, height)), min_size=3, max_size=6))
    options = {
        "frame_height": frame_height,
        "threshold": draw(st.integers(0, 60)),
        "contour_area": draw(st.sampled_from([0, 2]) | st.integers(0, 30)),
        "delta_alpha": draw(alphas),
        "frame_alpha": draw(alphas),
        "mask": polygon_mask(width, height, [polygon] if polygon else []),
    }
    frames = draw(st.sampled_from(range(28, 71)))
    scene = Scene(width, height, frames, draw(st.integers(0, 2**32 - 1)),
                  draw(st.sampled_from([0, 2, 30])))
    return scene, options


@pytest.mark.slow
@given(scenes())
@settings(max_examples=200, deadline=None)
def test_kernel_matches_reference_frame_by_frame(case: tuple[Scene, dict]) -> None:
    scene, options = case
    kernel = MotionDetector(scene.width, scene.height, **options)
    reference = ReferenceMotionDetector(scene.width, scene.height, **options)
    for index, frame in enumerate(scene.render()):
        assert kernel.detect(frame) == reference.detect(frame), f"frame {index}"


def room(squares: list[tuple[int, int] | None]) -> Iterator[np.ndarray]:
    """A 320x240 grey room with a dark 40x40 square at each position in turn (None: none)."""
    for square in squares:
        frame = np.full((240, 320), 120, np.uint8)
        if square:
            x, y = square
            frame[y:y + 40, x:x + 40] = 20
        yield frame


def all_boxes(detector: MotionDetector, frames: Iterator[np.ndarray]) -> list[list[Box]]:
    return [detector.detect(frame) for frame in frames]


def test_warm_up_reports_nothing() -> None:
    detector = MotionDetector(320, 240, frame_height=40)
    flicker = (np.full((240, 320), 255 * (i % 2), np.uint8) for i in range(30))
    assert all_boxes(detector, flicker) == [[]] * 30


def test_a_still_room_has_no_motion() -> None:
    detector = MotionDetector(320, 240, frame_height=40, threshold=1, contour_area=0)
    assert all_boxes(detector, room([(100, 100)] * 60)) == [[]] * 60


def test_a_moving_square_is_boxed_where_it_is() -> None:
    detector = MotionDetector(320, 240, frame_height=40, contour_area=10)
    all_boxes(detector, room([None] * 30))
    positions = [(20 + 8 * i, 100) for i in range(25)]
    boxes = all_boxes(detector, room(positions))
    # A change must last: one frame is not enough for the average difference.
    assert boxes[0] == []
    for (x, y), found in zip(positions[1:], boxes[1:], strict=True):
        assert len(found) == 1
        x1, y1, x2, y2 = found[0]
        assert 0 <= x1 <= x and x + 40 <= x2 <= 320 and 0 <= y1 <= y and y + 40 <= y2 <= 240


def test_something_that_stays_becomes_background() -> None:
    detector = MotionDetector(320, 240, frame_height=40, contour_area=10)
    all_boxes(detector, room([None] * 30))
    boxes = all_boxes(detector, room([(200, 60)] * 60))
    assert boxes[0] == [] and boxes[1] and boxes[9]
    # From the 10th frame with motion on, frames are folded in again: the square fades in.
    assert boxes[-1] == []


def test_a_change_everywhere_is_one_box_over_the_whole_frame() -> None:
    width, height = 301, 207
    detector = MotionDetector(width, height, frame_height=height // 6, contour_area=0)
    for _ in range(30):
        detector.detect(np.zeros((height, width), np.uint8))
    boxes = detector.detect(np.full((height, width), 255, np.uint8))
    assert boxes == [(0, 0, width, height)]


def test_detect_takes_the_y_plane_of_an_i420_frame() -> None:
    frame = new_frame(64, 48)
    luma = planes(frame, 64, 48).y
    detector = MotionDetector(64, 48, frame_height=8, contour_area=0)
    for _ in range(31):
        assert detector.detect(luma) == []
    luma[:] = 200
    assert detector.detect(luma) == [(0, 0, 64, 48)]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"width": 1, "height": 10, "frame_height": 1}, "frame size must be at least 2x1"),
    ({"width": 10, "height": 0, "frame_height": 1}, "frame size must be at least 2x1"),
    ({"width": 10, "height": 10, "frame_height": 0}, "frame_height 0 leaves no pixels"),
    ({"width": 2, "height": 100, "frame_height": 10}, "frame_height 10 leaves no pixels"),
    ({"width": 10, "height": 10, "frame_height": 5, "threshold": 256}, "threshold must be"),
    ({"width": 10, "height": 10, "frame_height": 5, "contour_area": -1}, "contour_area must"),
    ({"width": 10, "height": 10, "frame_height": 5, "delta_alpha": 1.5}, "delta_alpha must"),
    ({"width": 10, "height": 10, "frame_height": 5, "frame_alpha": -0.1}, "frame_alpha must"),
    ({"width": 10, "height": 10, "frame_height": 5, "mask": np.zeros((10, 9), np.uint8)},
     r"mask must be a uint8 array of shape \(10, 10\), got uint8 \(10, 9\)"),
    ({"width": 10, "height": 10, "frame_height": 5, "mask": np.zeros((10, 10), bool)},
     "mask must be a uint8 array"),
])
def test_bad_arguments_are_refused(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MotionDetector(**arguments)


def test_a_luma_plane_of_the_wrong_size_is_refused() -> None:
    detector = MotionDetector(64, 48, frame_height=8)
    with pytest.raises(ValueError, match="expected a 48x64 luma plane, got 64x48"):
        detector.detect(np.zeros((64, 48), np.uint8))
    with pytest.raises(ValueError, match="C-contiguous"):
        detector.detect(np.zeros((48, 128), np.uint8)[:, ::2])
    with pytest.raises(ValueError, match="dtype mismatch"):
        detector.detect(np.zeros((48, 64), np.int16))


def footage(duration: float) -> list[np.ndarray]:
    """Y planes of the first ``duration`` s of the real footage (10 fps)."""
    raw = decode_file(shared_file(VIDEO), duration=duration)
    return [planes(frame, WIDTH, HEIGHT).y for frame in split_frames(raw, WIDTH, HEIGHT)]


@pytest.fixture(scope="module")
def first_person() -> list[np.ndarray]:
    """The first 12 s: an empty room, then a person walks in up to the table (from 6.3 s)."""
    return [luma.copy() for luma in footage(12)]


def seconds(boxes: list[list[Box]], start: float, end: float) -> list[list[Box]]:
    return boxes[round(start * FPS):round(end * FPS)]


def test_motion_follows_people_in_real_footage() -> None:
    detector = MotionDetector(WIDTH, HEIGHT, **DEFAULTS)
    boxes = [detector.detect(luma) for luma in footage(50)]
    assert len(boxes) == 50 * FPS
    # After warm-up, the room is empty until 6.3 s.
    assert seconds(boxes, 3.0, 6.0) == [[]] * 30
    # A person walks in and up to the table: motion in every frame, around her.
    for found in seconds(boxes, 6.5, 9.5):
        x1, y1, x2, y2 = max(found, key=lambda box: (box[2] - box[0]) * (box[3] - box[1]))
        assert (x2 - x1) * (y2 - y1) > 0.02 * WIDTH * HEIGHT
        assert 140 <= (x1 + x2) / 2 <= 620
    # The third visitor has left by 45.5 s: the room is empty again.
    assert seconds(boxes, 46.0, 50.0) == [[]] * 40


@pytest.mark.parametrize("polygon", [None, WALKWAY, WINDOW], ids=["no mask", "walkway", "window"])
def test_kernel_matches_reference_on_real_footage(first_person: list[np.ndarray],
                                                   polygon: Polygon | None) -> None:
    mask = polygon_mask(WIDTH, HEIGHT, [polygon] if polygon else [])
    kernel = MotionDetector(WIDTH, HEIGHT, mask=mask, **DEFAULTS)
    reference = ReferenceMotionDetector(WIDTH, HEIGHT, mask=mask, **DEFAULTS)
    for index, luma in enumerate(first_person):
        assert kernel.detect(luma) == reference.detect(luma), f"frame {index}"


def test_a_mask_over_the_walkway_hides_the_person(first_person: list[np.ndarray]) -> None:
    def boxes(polygons: list[Polygon]) -> list[list[Box]]:
        mask = polygon_mask(WIDTH, HEIGHT, polygons)
        detector = MotionDetector(WIDTH, HEIGHT, mask=mask, **DEFAULTS)
        return [detector.detect(luma) for luma in first_person]

    unmasked = boxes([])
    assert sum(map(bool, unmasked)) > 30
    assert boxes([WALKWAY]) == [[]] * len(first_person)
    assert boxes([WINDOW]) == unmasked  # masking where nothing moves changes nothing
