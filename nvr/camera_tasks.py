"""Running one camera: its parts as tasks, each restarted on its own after a failure."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import trio

from nvr.camera import Camera
from nvr.capture.supervisor import supervise_capture
from nvr.config.ffmpeg import FfmpegCommand
from nvr.detection.frame import FrameDetector
from nvr.detection.workers import DetectorPool
from nvr.events.recorder import EventRecorder
from nvr.events.store import EventStore
from nvr.recording.event_clips import EventClips
from nvr.recording.writer import supervise_writer
from nvr.tasks import restart_forever, run_every

BEST_SAVE_TIMEOUT = 5.0  # s the last best images may take to write at shutdown


async def run_camera(camera: Camera, detectors: DetectorPool | None, store: EventStore,
                     frame_detector: type[FrameDetector] = FrameDetector) -> None:
    """Capture, process and record until cancelled; ``detectors`` is None when the camera
    does not detect. ``frame_detector`` decides where in a frame to call them (``nvr bench``
    measures its baselines by giving another).

    Each part (the pipeline, the event recorder, clip building, best-image saving, the
    segment writers) is retried on its own after any failure (``nvr.tasks``), so a crash
    restarts that part of this camera alone; only cancellation propagates. At the end the
    tracked objects' events are ended and written, and the best images saved.
    """
    name, config, best = camera.name, camera.config, camera.processor.best
    await trio.to_thread.run_sync(best.load, camera.width, camera.height)
    clips = None
    if camera.cache is not None:
        clips = camera.clips = EventClips(name, config, camera.media.clips, camera.cache,
                                          store, camera.clips_max_seconds, camera.switches)
    recorder = camera.recorder = EventRecorder(
        name, config, camera.media.clips, store, camera.label_color,
        clips.request if clips is not None else None, camera.switches)
    # Made even while detection is off: the detect switch may turn it on.
    detector = None
    if detectors is not None:
        detector = frame_detector(config, detectors.detect, detectors.input_size,
                                  camera.count_detector_call)

    async def save_best() -> None:
        # The unsaved frames are taken here, on the event loop that chooses them.
        await trio.to_thread.run_sync(best.save, best.take_unsaved())

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(restart_forever, f"{name}: event recorder", recorder.run)
            nursery.start_soon(run_every, f"{name}: saving best images", 1.0, save_best)
            if clips is not None:
                nursery.start_soon(restart_forever, f"{name}: clips", clips.run)
            for command in camera.writer_commands:
                nursery.start_soon(restart_forever, f"{name}: segment writer", partial(
                    supervise_writer, name, command, _on_writer_stopped(camera, command)))
            await restart_forever(f"{name}: camera pipeline",
                                  partial(_run_pipeline, camera, detector, recorder))
    finally:
        latest = camera.latest
        last_time = latest.frame.time if latest is not None else 0.0
        await recorder.finish(camera.processor.objects.end_all(last_time), last_time)
        # Bounded: a hung disk must not hold the shutdown up (the thread is left behind).
        with trio.move_on_after(BEST_SAVE_TIMEOUT, shield=True):
            await trio.to_thread.run_sync(best.save, best.take_unsaved(),
                                          abandon_on_cancel=True)


def _on_writer_stopped(camera: Camera, command: FfmpegCommand) -> Callable[[], None]:
    """What to tell the cache when the ffmpeg of ``command`` stops (it closed a segment)."""
    cache = camera.cache if "clips" in command.roles else None
    return cache.writer_stopped if cache is not None else lambda: None


async def _run_pipeline(camera: Camera, detector: FrameDetector | None,
                        recorder: EventRecorder) -> None:
    """Capture and process frames until something raises: a bug, not a camera fault (the
    capture supervisor handles those). While the detect switch is off no detector is
    called: every frame is empty, so tracked objects age out."""
    stopped = _on_writer_stopped(camera, camera.detect_command)  # it may write segments too

    def capture_pid(pid: int) -> None:
        camera.capture_pid = pid
        if pid == 0:
            stopped()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(supervise_capture, camera.name, camera.detect_command, camera.pool,
                           camera.stall_timeout, camera.handoff.deliver, capture_pid)
        while True:
            frame = await camera.handoff.take()
            detecting = detector if camera.switches.detect else None
            try:
                processed = await camera.processor.process(
                    frame, detecting, (recorder, *camera.frame_observers))
            except BaseException:
                frame.release()
                raise
            if detecting is not None:
                camera.process_fps.add()
            camera.live.publish(processed)
