"""End to end: how many cameras this host can process, with motion gating and the detector.

N simulated cameras read the video looped in real time (``-re``, each from its own point of
the file) at ``FPS`` fps in a real in-process service (``Service.run_pipelines``: capture,
motion, the CPU detector on the given model, tracking, events). N grows (1, 2, 4, ... then
bisection; at most 4 in quick mode) until a camera skips frames or processes fewer than 95 %
of the frames it receives. The baseline, measured in the same run, is what an NVR without
motion gating could do: the detector on every whole frame, 1 / (fps x inference time).

At the capacity found, the cost of a camera (CPU of the whole process tree, ffmpeg included;
PSS; detector calls per second and the share that found nothing) is set beside the same
cameras run with the baseline way of calling the detector (``nvr.bench.strategies``: one
call per frame with motion, over the whole motion area).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import trio

from nvr._fast.regions import crop_to_tensor
from nvr.bench.footage import FPS, MOTION_WARM_UP, detector_threads, service_config
from nvr.bench.model import BenchInputs, Figure, Progress, Stat
from nvr.bench.procfs import total_cpu_seconds, total_pss_bytes, total_rss_bytes
from nvr.bench.strategies import STRATEGIES
from nvr.bench.workload import VideoInfo, probe
from nvr.camera import Camera
from nvr.capture.decode import decode_file, split_frames
from nvr.detection import create_detector
from nvr.frames import planes
from nvr.rates import RateCounter
from nvr.service import Service, prepare_media_folders
from nvr.tracking.state import ObjectsUpdate

log = logging.getLogger(__name__)

GROUP = "capacity"
SKIP_TOLERANCE = 0.25  # skipped frames per second still counted as keeping up
PROCESS_SHARE = 0.95  # of the frames received, at least this share must be processed
ARRIVAL_SHARE = 0.9  # of FPS, at least this rate must arrive (else ffmpeg falls behind)
STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Settings:
    """How long and how far a capacity search goes."""

    windows: tuple[float, ...]  # measurement windows per N, seconds
    warm_up: float  # seconds between the first frame of every camera and the measurement
    max_cameras: int
    doubling: bool  # 1, 2, 4, ... then bisect; else 1, 2, 3, ...
    reference_frames: int
    reference_rounds: int


QUICK = Settings(windows=(5.0,), warm_up=MOTION_WARM_UP, max_cameras=4, doubling=True,
                 reference_frames=8, reference_rounds=3)
FULL = Settings(windows=(10.0, 10.0), warm_up=MOTION_WARM_UP + 2, max_cameras=64,
                doubling=True, reference_frames=25, reference_rounds=5)


@dataclass(frozen=True)
class Window:
    """What N cameras did over one measurement window."""

    cameras: int
    keeps_up: bool
    cpu: float  # CPU seconds per second: this process and the cameras' ffmpeg processes
    rss: int  # bytes, the same processes, at the end of the window
    pss: int  # bytes, the same processes (shared pages split between them)
    frames: int  # processed frames seen
    with_motion: int  # of which had motion
    calls: float  # detector calls per second, all cameras
    empty_calls: int  # calls that found nothing tracked
    all_calls: int
    events: int  # true positives confirmed in the window (events started)


class EventCount:
    """A frame observer counting the objects that became true positives (events)."""

    def __init__(self) -> None:
        self.count = 0

    def frame_done(self, update: ObjectsUpdate, objects: object, frame_time: float) -> None:
        self.count += len(update.confirmed)


@dataclass(frozen=True)
class Trial:
    """N cameras over all the windows of one run of the service."""

    cameras: int
    windows: tuple[Window, ...]

    @property
    def keeps_up(self) -> bool:
        return all(window.keeps_up for window in self.windows)


def keeps_up(stats: dict[str, float]) -> bool:
    """Whether a camera's stats over a window show it processed (nearly) every frame."""
    return (stats["camera_fps"] >= ARRIVAL_SHARE * FPS
            and stats["skipped_fps"] <= SKIP_TOLERANCE
            and stats["process_fps"] >= PROCESS_SHARE * stats["camera_fps"])


def _reset_rates(camera: Camera) -> None:
    """Start the camera's frame rates afresh, so that stats() covers the window alone."""
    camera.handoff.received, camera.handoff.skipped = RateCounter(), RateCounter()
    camera.process_fps = RateCounter()


async def _watch_motion(cameras: list[Camera], seen: dict[tuple[str, int], bool]) -> None:
    """Record, for every processed frame seen, whether it had motion (until cancelled)."""
    while True:
        for camera in cameras:
            latest = camera.latest
            if latest is not None:
                seen[camera.name, latest.frame.index] = bool(latest.motion)
        await trio.sleep(1 / (4 * FPS))


async def _window(cameras: list[Camera], seconds: float, events: EventCount) -> Window:
    for camera in cameras:
        _reset_rates(camera)
    pids = [camera.capture_pid for camera in cameras]
    seen: dict[tuple[str, int], bool] = {}
    calls_before = [(camera.detector_calls.calls, camera.detector_calls.empty)
                    for camera in cameras]
    events_before = events.count
    cpu, wall = total_cpu_seconds(pids), time.monotonic()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch_motion, cameras, seen)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()
    elapsed = time.monotonic() - wall
    cpu = (total_cpu_seconds(pids) - cpu) / elapsed
    calls = sum(camera.detector_calls.calls - before
                for camera, (before, _) in zip(cameras, calls_before, strict=True))
    empty = sum(camera.detector_calls.empty - before
                for camera, (_, before) in zip(cameras, calls_before, strict=True))
    stats = [camera.stats() for camera in cameras]
    for camera, camera_stats in zip(cameras, stats, strict=True):
        log.debug("%s: %s", camera.name, camera_stats)
    return Window(len(cameras), all(keeps_up(entry) for entry in stats), cpu,
                  total_rss_bytes(pids), total_pss_bytes(pids), len(seen), sum(seen.values()),
                  calls / elapsed, empty, calls, events.count - events_before)


async def trial(inputs: BenchInputs, video: VideoInfo, count: int, settings: Settings, *,
                strategy: str = "nvr", offsets: Sequence[float] | None = None,
                threads: int | None = None) -> Trial:
    """Run the service with ``count`` cameras calling the detector the ``strategy`` way
    (``nvr.bench.strategies``) and measure it over the settings' windows; ``offsets`` and
    ``threads`` as in ``service_config``."""
    with tempfile.TemporaryDirectory(prefix="nvr-bench-capacity-") as folder:
        config = service_config(Path(folder), inputs.video, video, inputs.model, inputs.labels,
                                count, offsets=offsets, threads=threads)
        prepare_media_folders(config, "bench")
        service = Service(config, frame_detector=STRATEGIES[strategy])
        cameras = list(service.cameras.values())
        events = EventCount()
        for camera in cameras:
            camera.frame_observers.append(events)
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run_pipelines)
            with trio.fail_after(STARTUP_TIMEOUT):
                while any(camera.latest is None for camera in cameras):
                    await trio.sleep(0.05)
            await trio.sleep(settings.warm_up)
            windows = []
            for seconds in settings.windows:
                windows.append(await _window(cameras, seconds, events))
                if not windows[-1].keeps_up and strategy == "nvr":
                    break  # one failed window decides it
            nursery.cancel_scope.cancel()
    return Trial(count, tuple(windows))


def _search(inputs: BenchInputs, video: VideoInfo, settings: Settings,
            progress: Progress) -> tuple[int, list[Trial]]:
    """The most cameras that keep up (0 if even one does not), and every trial run."""
    trials: dict[int, Trial] = {}

    def attempt(count: int) -> bool:
        progress(f"capacity: {count} camera{'s' if count > 1 else ''} at {video.size} "
                 f"{FPS} fps")
        trials[count] = trio.run(trial, inputs, video, count, settings)
        return trials[count].keeps_up

    good, bad, count = 0, None, 1
    while count <= settings.max_cameras:
        if not attempt(count):
            bad = count
            break
        good = count
        count = count * 2 if settings.doubling else count + 1
    if settings.doubling and bad is not None:  # bisect between the last good and bad N
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (middle, bad) if attempt(middle) else (good, middle)
    return good, [trials[count] for count in sorted(trials)]


def whole_frame_seconds(inputs: BenchInputs, video: VideoInfo, settings: Settings) -> Stat:
    """Seconds per frame of the detector on whole frames (resized to the model input),
    the way an NVR without motion gating runs it; one sample per round."""
    raw = decode_file(inputs.video, frames=settings.reference_frames, filters=f"fps={FPS}")
    frames = split_frames(raw, video.width, video.height)
    detector = create_detector("cpu", inputs.model, inputs.labels,
                               num_threads=detector_threads())
    side = detector.input_size[0]
    tensor = np.empty((side, side, 3), np.uint8)
    square = max(video.width, video.height)

    def one_round() -> float:
        start = time.perf_counter()
        for frame in frames:
            y, u, v = planes(frame, video.width, video.height)
            crop_to_tensor(y, u, v, (0, 0, square, square), tensor)
            detector.detect(tensor)
        return (time.perf_counter() - start) / len(frames)

    one_round()  # warm up the interpreter
    return Stat.of([one_round() for _ in range(settings.reference_rounds)])


def _per_camera(values: list[float], cameras: int) -> Stat:
    return Stat.of([value / cameras for value in values])


def empty_share(windows: Sequence[Window]) -> float:
    """Percent of the windows' detector calls that found nothing tracked."""
    calls = sum(window.all_calls for window in windows)
    return 100 * sum(window.empty_calls for window in windows) / calls if calls else 0.0


def run(inputs: BenchInputs, progress: Progress) -> list[Figure]:
    """The capacity figures: cameras, CPU and memory per camera, share of frames with motion."""
    settings = QUICK if inputs.quick else FULL
    video = probe(inputs.video)
    progress(f"capacity: detector on every whole {video.size} frame (reference)")
    inference = whole_frame_seconds(inputs, video, settings)
    capacity, trials = _search(inputs, video, settings, progress)
    # CPU and memory at the capacity found (or of one camera when even one falls behind).
    measured = next(trial for trial in trials if trial.cameras == max(capacity, 1))
    windows = measured.windows
    every_frame = Stat(1 / (FPS * inference.median), 1 / (FPS * inference.high),
                       1 / (FPS * inference.low), inference.runs)
    motion = [100 * window.with_motion / window.frames
              for trial in trials for window in trial.windows if window.frames]
    if capacity == settings.max_cameras:
        progress(f"capacity: at least {capacity} cameras: the search stops there"
                 f"{' in quick mode' if inputs.quick else ''}")
    progress(f"capacity: {measured.cameras} camera{'s' if measured.cameras > 1 else ''} "
             "calling the detector once per frame with motion, on all of it (baseline)")
    baseline = trio.run(partial(trial, inputs, video, measured.cameras, settings,
                                strategy="baseline")).windows
    name = "one call per frame with motion, whole motion area"

    def per_camera(windows: Sequence[Window], value: Callable[[Window], float]) -> Stat:
        return _per_camera([value(window) for window in windows], measured.cameras)

    def against_baseline(figure: str, unit: str, value: Callable[[Window], float]) -> Figure:
        return Figure(GROUP, figure, unit, per_camera(windows, value),
                      per_camera(baseline, value), name)

    return [
        Figure(GROUP, f"cameras at {video.size} {FPS} fps", "cameras",
               Stat.of([float(capacity)]), every_frame,
               "detector on every whole frame (estimate)", higher_is_better=True),
        against_baseline("CPU per camera", "% of a core", lambda window: 100 * window.cpu),
        against_baseline("detector calls per camera-second", "calls/s",
                         lambda window: window.calls),
        Figure(GROUP, "detector calls that found nothing", "%", Stat.of([empty_share(windows)]),
               Stat.of([empty_share(baseline)]), name),
        against_baseline("memory per camera (PSS)", "MB", lambda window: window.pss / 1e6),
        Figure(GROUP, "memory per camera (RSS)", "MB",
               per_camera(windows, lambda window: window.rss / 1e6)),
        Figure(GROUP, "frames with motion", "%", Stat.of(motion or [0.0])),
    ]
