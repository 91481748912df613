"""Detection in a frame with the real SSD model: regions, filters, refinement, motion filter."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from nvr.capture.decode import decode_file
from nvr.config import load_config
from nvr.detection import create_detector
from nvr.detection.frame import FrameDetector, ObjectDetection
from support import SSD, SSD_LABELS, shared_file

W, H = 768, 432
# grace_hopper.bmp (517x606) scaled to 432 px high and put 200 px from the left: her truth
# box (12, 23, 512, 600) of the photo lands at about (209, 16, 565, 428).
PERSON = (209, 16, 565, 428)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    photo = shared_file("media/test_images/grace_hopper.bmp")
    return decode_file(photo, frames=1, filters=f"scale=-2:{H},pad={W}:{H}:200:0").copy()


@pytest.fixture(scope="module")
def ssd():
    return create_detector("cpu", shared_file(SSD), shared_file(SSD_LABELS), num_threads=2)


def camera(write_config, objects: str = "") -> object:
    text = textwrap.dedent(f"""\
        cameras:
          cam:
            ffmpeg: {{inputs: [{{path: x.mp4, roles: [detect]}}]}}
            width: {W}
            height: {H}
            objects:
              track: [person, tie]
        """) + textwrap.indent(objects, " " * 6)
    return load_config(write_config(text), {}).cameras["cam"]


def frame_detector(config, ssd) -> tuple[FrameDetector, list[float]]:
    calls: list[float] = []

    async def detect(tensor: np.ndarray, min_score: float):
        calls.append(min_score)
        return ssd.detect(tensor, min_score)

    return FrameDetector(config, detect, ssd.input_size), calls


def near(box, truth, tolerance: float) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(box, truth, strict=True))


async def test_person_found_in_frame_coordinates(write_config, ssd, frame) -> None:
    detector, calls = frame_detector(camera(write_config), ssd)
    found, regions = await detector.detect(frame, [(250, 50, 500, 400)], [])
    people = [d for d in found if d.label == "person"]
    assert len(people) == 1
    assert people[0].score >= 0.6
    assert near(people[0].box, PERSON, 0.05 * W), people[0].box
    assert all(isinstance(d, ObjectDetection) for d in found)
    assert len(calls) == len(regions) >= 1
    assert calls[0] == pytest.approx(0.4)  # the detector floor; the filters come after


async def test_no_motion_no_detection(write_config, ssd, frame) -> None:
    detector, calls = frame_detector(camera(write_config), ssd)
    assert await detector.detect(frame, [], [("person", PERSON)]) == ([], [])
    assert calls == []


async def test_a_still_tracked_object_is_searched_without_motion(write_config, ssd,
                                                                 frame) -> None:
    detector, calls = frame_detector(camera(write_config), ssd)
    found, regions = await detector.detect(frame, [], [("person", PERSON)], recheck=[PERSON])
    [person] = [d for d in found if d.label == "person"]
    assert near(person.box, PERSON, 0.05 * W), person.box
    assert len(calls) == len(regions) >= 1
    # Found without motion, she is kept as the tracked person; were the tracked object there
    # of another label, a person standing there would be still background.
    found, _ = await detector.detect(frame, [], [("tie", PERSON)], recheck=[PERSON])
    assert [d for d in found if d.label == "person"] == []


async def test_motion_inside_a_still_object_is_not_searched(write_config, ssd, frame) -> None:
    detector, calls = frame_detector(camera(write_config), ssd)
    hands = (300, 200, 360, 260)  # she moves her hands; she stands still
    assert await detector.detect(frame, [hands], [("person", PERSON)], still=[PERSON]) == (
        [], [])
    assert calls == []
    # Motion reaching out of her box (someone walking past) is searched.
    _, regions = await detector.detect(frame, [hands, (560, 300, 640, 420)],
                                       [("person", PERSON)], still=[PERSON])
    assert regions and len(calls) == len(regions)


async def test_objects_that_do_not_touch_motion_are_dropped(write_config, ssd, frame) -> None:
    detector, _ = frame_detector(camera(write_config), ssd)
    # Motion far from her, but its region (>= 300 px) covers part of her.
    found, _ = await detector.detect(frame, [(700, 400, 710, 410)], [])
    assert [d for d in found if d.label == "person"] == []


async def test_filters_area_score_and_mask(write_config, ssd, frame) -> None:
    motion = [(250, 50, 500, 400)]
    big = camera(write_config, "filters: {person: {min_area: 500000}}")
    found, _ = await frame_detector(big, ssd)[0].detect(frame, motion, [])
    assert "person" not in {d.label for d in found}
    # Her bottom-centre point (about (387, 428)) under the mask: dropped.
    masked = camera(write_config, "filters: {person: {mask: '300,380,480,380,480,432,300,432'}}")
    found, _ = await frame_detector(masked, ssd)[0].detect(frame, motion, [])
    assert "person" not in {d.label for d in found}
    # A mask elsewhere changes nothing.
    elsewhere = camera(write_config, "mask: '0,0,50,0,50,50,0,50'")
    found, _ = await frame_detector(elsewhere, ssd)[0].detect(frame, motion, [])
    assert "person" in {d.label for d in found}


async def test_a_min_score_below_one_half_is_honoured(write_config, ssd, frame) -> None:
    low = camera(write_config, "filters: {tie: {min_score: 0.2}}")
    detector, calls = frame_detector(low, ssd)
    await detector.detect(frame, [(250, 50, 500, 400)], [])
    assert calls and all(floor == pytest.approx(0.2) for floor in calls)


async def test_an_object_cut_by_its_region_is_detected_again_around_it(write_config, ssd,
                                                                      frame) -> None:
    detector, _ = frame_detector(camera(write_config), ssd)
    # A small motion box at her face gives a 300 px region that cuts her body off.
    found, regions = await detector.detect(frame, [(330, 60, 420, 160)], [])
    people = [d for d in found if d.label == "person"]
    assert len(regions) >= 2, regions
    assert len(people) == 1
    assert people[0].box[3] > 380  # her whole height, not the part inside the first region


async def test_min_score_zero_gives_no_empty_boxes(write_config, ssd, frame) -> None:
    # The model pads its output with score-0 rows: they must not become detections.
    zero = camera(write_config, "filters: {person: {min_score: 0}, tie: {min_score: 0}}")
    found, _ = await frame_detector(zero, ssd)[0].detect(frame, [(250, 50, 500, 400)], [])
    assert found and all(d.area > 0 and d.score > 0 for d in found)
