"""Detector workers (one thread per detector, shared by all cameras) and detectors from the config.

The real SSD model serves the happy paths; failing and hanging accelerators are test doubles of
a ``Detector``, since a broken Edge TPU is not something we can plug in.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import trio
import trio.testing
from PIL import Image

from nvr.config import ConfigError, NvrConfig, load_config
from nvr.data import DEFAULT_LABELS, DEFAULT_MODEL
from nvr.detection import Detection, Detector, create_detector
from nvr.detection.download import DEFAULT_MODEL_FILES
from nvr.detection.setup import detector_setup, model_files
from nvr.detection.workers import DetectorError, DetectorPool
from support import MINIMAL_CAMERA, SSD, SSD_LABELS, shared_file, wait_for

SIZE = (300, 300)


def photo_tensor(name: str) -> np.ndarray:
    image = Image.open(shared_file(f"media/test_images/{name}")).convert("RGB")
    return np.asarray(image.resize(SIZE, Image.BILINEAR))


def ssd_factory() -> Callable[[], Detector]:
    return functools.partial(create_detector, "cpu", shared_file(SSD), shared_file(SSD_LABELS),
                             num_threads=1, input_size=SIZE)


async def start(nursery: trio.Nursery, pool: DetectorPool) -> None:
    await nursery.start(pool.run)


# -- the real model --------------------------------------------------------------------------

async def test_two_cpu_workers_share_the_requests_of_many_tasks(nursery: trio.Nursery) -> None:
    pool = DetectorPool({"one": ssd_factory(), "two": ssd_factory()}, SIZE)
    stats = pool.stats()
    assert stats == {name: {"inference_speed": 10.0, "detection_start": 0.0,
                            "pid": os.getpid()} for name in ("one", "two")}
    await start(nursery, pool)
    hopper, pets = photo_tensor("grace_hopper.bmp"), photo_tensor("pets.jpg")
    people = [d for d in await pool.detect(hopper, 0.4) if d.label == "person"]
    assert people and people[0].score >= 0.6
    expected = {"hopper": await pool.detect(hopper, 0.4), "pets": await pool.detect(pets, 0.4)}
    assert [d.label for d in expected["pets"]][:2] == ["dog", "dog"]

    answers: list[tuple[str, list[Detection]]] = []

    async def camera(index: int) -> None:
        # Each task reuses its own tensor between calls, as a camera does.
        tensor = np.empty_like(hopper)
        for call in range(5):
            name = "hopper" if (index + call) % 2 else "pets"
            tensor[:] = hopper if name == "hopper" else pets
            answers.append((name, await pool.detect(tensor, 0.4)))

    async with trio.open_nursery() as cameras:
        for index in range(4):
            cameras.start_soon(camera, index)
    assert len(answers) == 20
    for name, detections in answers:
        assert detections == expected[name]
    assert all(worker.completed >= 4 for worker in pool.workers.values())
    assert all(worker.pending == 0 for worker in pool.workers.values())
    for name, figures in pool.stats().items():
        assert set(figures) == {"inference_speed", "detection_start", "pid"}
        assert figures["inference_speed"] != 10.0 and figures["inference_speed"] > 0
        assert figures["inference_speed"] == round(pool.workers[name].inference_speed, 2)
        assert figures["detection_start"] == 0.0


async def test_detection_start_is_set_during_an_inference(nursery: trio.Nursery) -> None:
    release = threading.Event()
    pool = DetectorPool({"slow": lambda: Blocking(release)}, SIZE)
    await start(nursery, pool)
    before = time.time()
    nursery.start_soon(pool.detect, blank())
    await wait_for(lambda: pool.stats()["slow"]["detection_start"] > 0, 5, "an inference")
    assert before <= pool.stats()["slow"]["detection_start"] <= time.time()
    release.set()
    await wait_for(lambda: pool.stats()["slow"]["detection_start"] == 0.0, 5, "idle")


def test_a_tensor_of_the_wrong_size_is_refused_before_any_detector() -> None:
    pool = DetectorPool({"one": Counted}, SIZE)
    with pytest.raises(ValueError, match=r"\(300, 300, 3\)"):
        trio.run(pool.detect, np.zeros((320, 320, 3), np.uint8))


async def test_detect_without_a_running_pool_fails_at_once() -> None:
    pool = DetectorPool({"one": Counted}, SIZE)
    with trio.fail_after(1), pytest.raises(DetectorError, match="no detector is available"):
        await pool.detect(blank())


async def test_a_model_that_cannot_load_fails_start_up(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model")
    factory = functools.partial(create_detector, "cpu", junk, shared_file(SSD_LABELS))
    pool = DetectorPool({"good": ssd_factory(), "coral": factory}, SIZE)
    with trio.fail_after(10), pytest.raises(
            DetectorError, match=rf"detector 'coral' could not be created: .*{junk}"):
        await pool.run()


# -- test doubles for broken hardware ------------------------------------------------------

PERSON = [Detection("person", 0.9, (1.0, 2.0, 3.0, 4.0))]


def blank() -> np.ndarray:
    return np.zeros((*SIZE, 3), np.uint8)


class Counted(Detector):
    """Answers one person; counts its instances and calls (class-wide, reset per test)."""

    created = 0

    def __init__(self) -> None:
        type(self).created += 1
        self.calls = 0

    @property
    def input_size(self) -> tuple[int, int]:
        return SIZE

    def detect(self, tensor: np.ndarray, min_score: float = 0.4) -> list[Detection]:
        self.calls += 1
        return PERSON


class FailsOnSecondCall(Counted):
    def detect(self, tensor: np.ndarray, min_score: float = 0.4) -> list[Detection]:
        if self.calls == 1:
            self.calls += 1
            raise RuntimeError("accelerator fell off the bus")
        return super().detect(tensor, min_score)


class Blocking(Counted):
    """Blocks in detect until ``release`` is set, like a hung accelerator."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def detect(self, tensor: np.ndarray, min_score: float = 0.4) -> list[Detection]:
        self.release.wait()
        return super().detect(tensor, min_score)


@pytest.fixture(autouse=True)
def _reset_counts() -> None:
    Counted.created = 0
    FailsOnSecondCall.created = 0
    Blocking.created = 0


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_failing_detector_is_logged_and_restarted(
        nursery: trio.Nursery, caplog: pytest.LogCaptureFixture) -> None:
    pool = DetectorPool({"coral": FailsOnSecondCall}, SIZE)
    await start(nursery, pool)
    assert await pool.detect(blank()) == PERSON
    with pytest.raises(DetectorError, match="detector 'coral' failed: accelerator fell off"):
        await pool.detect(blank())
    [record] = errors_logged(caplog)
    assert "detector 'coral' failed; restarting it" in record.getMessage()
    assert record.exc_info and "accelerator fell off the bus" in str(record.exc_info[1])
    await wait_for(lambda: pool.workers["coral"].available, 5, "the restart")
    assert FailsOnSecondCall.created == 2
    assert await pool.detect(blank()) == PERSON
    assert pool.workers["coral"].pending == 0


async def test_requests_queued_behind_a_failure_go_to_another_detector(
        nursery: trio.Nursery) -> None:
    pool = DetectorPool({"flaky": FailsOnSecondCall, "steady": Counted}, SIZE)
    await start(nursery, pool)
    results: list[object] = []

    async def call() -> None:
        try:
            results.append(await pool.detect(blank()))
        except DetectorError as error:
            results.append(error)

    async with trio.open_nursery() as callers:
        for _ in range(12):
            callers.start_soon(call)
    assert len(results) == 12
    # Only the request the flaky detector failed on is lost; those queued behind it are served.
    assert sum(isinstance(result, DetectorError) for result in results) == 1
    assert all(worker.pending == 0 for worker in pool.workers.values())


async def test_a_stuck_detector_is_abandoned_and_replaced(
        caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    instances: list[Counted] = []

    def factory() -> Detector:
        # The first detector hangs; its replacement answers at once.
        detector = Blocking(release) if not instances else Counted()
        instances.append(detector)
        return detector

    pool = DetectorPool({"coral": factory}, SIZE, stuck_timeout=0.5)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(pool.run)
            queued: list[object] = []

            async def behind() -> None:
                try:
                    queued.append(await pool.detect(blank()))
                except DetectorError as error:
                    queued.append(error)

            with trio.fail_after(5):
                started = trio.current_time()
                async with trio.open_nursery() as callers:
                    callers.start_soon(behind)  # lands behind the hung request
                    with pytest.raises(DetectorError, match=r"did not answer within 0\.5 s"):
                        await pool.detect(blank())
                    assert trio.current_time() - started >= 0.5
            assert len(queued) == 1  # served by the replacement or failed, but answered
            [record] = errors_logged(caplog)
            assert "detector 'coral' stuck" in record.getMessage()
            await wait_for(lambda: pool.workers["coral"].available, 5, "the replacement")
            assert await pool.detect(blank()) == PERSON
            assert len(instances) == 2 and instances[1].calls >= 1
            assert pool.stats()["coral"]["detection_start"] == 0.0
            nursery.cancel_scope.cancel()
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 0.5  # not held up by the hung thread
        hung = [thread for thread in threading.enumerate() if thread.name == "detector-coral"]
        assert any(thread.is_alive() for thread in hung)
    finally:
        release.set()


async def test_a_cancelled_caller_does_not_break_the_worker(nursery: trio.Nursery) -> None:
    release = threading.Event()
    pool = DetectorPool({"coral": lambda: Blocking(release)}, SIZE)
    await start(nursery, pool)
    with trio.move_on_after(0.1) as scope:
        await pool.detect(blank())
    assert scope.cancelled_caught
    with trio.move_on_after(0.1):  # cancelled while still queued
        await pool.detect(blank())
    release.set()
    with trio.fail_after(5):
        assert await pool.detect(blank()) == PERSON
    await wait_for(lambda: pool.workers["coral"].pending == 0, 5, "the queue to empty")
    assert Blocking.created == 1


async def test_a_detector_that_cannot_be_recreated_is_retried_with_back_off(
        nursery: trio.Nursery, caplog: pytest.LogCaptureFixture,
        mock_clock: trio.testing.MockClock) -> None:
    # The real delays (1 s, then 2 s) in virtual time: the clock jumps to the next timer
    # once the loop has waited 10 ms of real time (for the detector threads) with nothing
    # to do.
    mock_clock.autojump_threshold = 0.01
    created: list[int] = []

    def factory() -> Detector:
        created.append(1)
        if len(created) in (2, 3):
            raise OSError("no Edge TPU found")
        return FailsOnSecondCall()

    pool = DetectorPool({"coral": factory}, SIZE)
    await start(nursery, pool)
    await pool.detect(blank())
    with pytest.raises(DetectorError):
        await pool.detect(blank())
    lost_at = trio.current_time()
    # While it is down nothing hangs: no detector is available.
    with trio.fail_after(1), pytest.raises(DetectorError, match="no detector is available"):
        await pool.detect(blank())
    await wait_for(lambda: pool.workers["coral"].available, 60, "the third attempt")
    assert trio.current_time() - lost_at >= 1 + 2
    assert len(created) == 4
    assert await pool.detect(blank()) == PERSON
    retries = [r.getMessage() for r in errors_logged(caplog) if "retrying" in r.getMessage()]
    assert retries == [
        "detector 'coral' could not be created: no Edge TPU found; retrying in 1 s",
        "detector 'coral' could not be created: no Edge TPU found; retrying in 2 s",
    ]


# -- detectors from the config ---------------------------------------------------------------

@pytest.fixture
def config_with(write_config: Callable[..., Path]) -> Callable[[str], NvrConfig]:
    """A camera's config plus ``extra``, with no model configured unless ``extra`` has one."""
    return lambda extra: load_config(write_config(MINIMAL_CAMERA + extra), {})


def test_without_a_model_block_the_shipped_reference_model_is_used(
        config_with: Callable[[str], NvrConfig], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing is looked up in the working directory
    config = config_with("detectors: {cpu1: {type: cpu, num_threads: 1}}\n")
    model, labels = model_files(config)
    assert (model, labels) == (DEFAULT_MODEL, DEFAULT_LABELS)
    assert model.parent.name == "data" and model.parent.parent.name == "nvr"
    # The very files of ../shared (and of the model zoo: the download's checksums).
    for shipped, original in ((model, SSD), (labels, SSD_LABELS)):
        assert shipped.read_bytes() == shared_file(original).read_bytes()
    assert [hashlib.sha256(path.read_bytes()).hexdigest() for path in (model, labels)] == [
        file.sha256 for file in DEFAULT_MODEL_FILES]
    setup = detector_setup(config)
    assert setup.input_size == SIZE  # the model's own, not Frigate's 320 default
    detector = setup.factories["cpu1"]()
    assert detector.detect(photo_tensor("grace_hopper.bmp"))[0].label == "person"


def test_a_configured_model_that_is_missing(config_with: Callable[[str], NvrConfig],
                                            tmp_path: Path) -> None:
    config = config_with(f"model: {{path: nowhere/ssd.tflite, labelmap_path: "
                         f"{shared_file(SSD_LABELS)}}}\n")
    with pytest.raises(ConfigError) as caught:
        detector_setup(config)
    [problem] = caught.value.problems
    assert problem.startswith(f"model.path: no detector model at {tmp_path}/nowhere/ssd.tflite;")
    assert problem.endswith("check model.path (without it nvr uses the default SSD model it "
                            "ships)")


async def test_configured_models_from_shared_serve_a_pool(
        config_with: Callable[[str], NvrConfig], nursery: trio.Nursery) -> None:
    config = config_with(f"""
model: {{path: {shared_file(SSD)}, labelmap_path: {shared_file(SSD_LABELS)},
         width: 300, height: 300}}
detectors:
  first: {{type: cpu, num_threads: 1}}
  second: {{type: edgetpu, device: "usb:9"}}
""")
    setup = detector_setup(config)
    pool = DetectorPool(setup.factories, setup.input_size)
    await start(nursery, pool)  # the Edge TPU detector falls back to the CPU here
    people = [d for d in await pool.detect(photo_tensor("grace_hopper.bmp")) if
              d.label == "person"]
    assert people and people[0].score >= 0.6


def test_model_size_defaults_to_the_models_own(config_with: Callable[[str], NvrConfig]) -> None:
    config = config_with(f"model: {{path: {shared_file(SSD)}, "
                         f"labelmap_path: {shared_file(SSD_LABELS)}}}\n")
    assert config.model.width == 320  # Frigate's default, for its own model
    assert detector_setup(config).input_size == (300, 300)


def test_model_size_set_must_match_the_model(config_with: Callable[[str], NvrConfig]) -> None:
    model = shared_file(SSD).resolve()  # the config resolves symlinks
    config = config_with(f"model: {{path: {model}, labelmap_path: {shared_file(SSD_LABELS)}, "
                         "width: 320, height: 320}\n")
    with pytest.raises(ConfigError) as caught:
        detector_setup(config)
    assert caught.value.problems == [
        f"model.width/model.height: 320x320, but {model} takes 300x300 input; set "
        "model.width: 300 and model.height: 300"]


def test_a_model_file_that_is_no_model(config_with: Callable[[str], NvrConfig],
                                       tmp_path: Path) -> None:
    (tmp_path / "junk.tflite").write_bytes(b"junk")
    config = config_with(f"model: {{path: junk.tflite, labelmap_path: "
                         f"{shared_file(SSD_LABELS)}}}\ndetectors: {{cpu: {{type: cpu}}}}\n")
    with pytest.raises(ConfigError, match=r"model\.path: cannot load TFLite model .*junk"):
        detector_setup(config)


def test_onnx_has_no_default_model(config_with: Callable[[str], NvrConfig]) -> None:
    config = config_with("detectors: {yolo: {type: onnx}}\n")
    with pytest.raises(ConfigError) as caught:
        model_files(config)
    assert [problem.split(":")[0] for problem in caught.value.problems] == [
        "model.path", "model.labelmap_path"]
    assert "no default model" in caught.value.problems[0]


def test_onnx_model_from_shared(config_with: Callable[[str], NvrConfig]) -> None:
    config = config_with(f"""
model: {{path: {shared_file("models/yolox_nano.onnx")},
         labelmap_path: {shared_file("models/coco80_labels.txt")}}}
detectors: {{yolo: {{type: onnx, num_threads: 1}}}}
""")
    detector = detector_setup(config).factories["yolo"]()
    assert detector.input_size == (320, 320)


def test_onnx_and_tflite_detectors_cannot_share_a_model(
        config_with: Callable[[str], NvrConfig]) -> None:
    config = config_with("detectors: {yolo: {type: onnx}, coral: {type: edgetpu}}\n")
    with pytest.raises(ConfigError, match="cannot be mixed"):
        detector_setup(config)


def test_model_input_must_be_square(config_with: Callable[[str], NvrConfig]) -> None:
    config = config_with(f"""
model: {{path: {shared_file("models/yolox_nano.onnx")},
         labelmap_path: {shared_file("models/coco80_labels.txt")}, width: 320, height: 240}}
detectors: {{yolo: {{type: onnx, num_threads: 1}}}}
""")
    with pytest.raises(ConfigError, match=r"model\.width/model\.height: 320x240: .* square"):
        detector_setup(config)
