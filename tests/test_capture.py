"""Capture with the real ffmpeg: frames flow, faults end in logged restarts, others carry on."""

from __future__ import annotations

import logging
import os
import signal

import pytest
import trio

from nvr.camera import Camera
from nvr.capture.handoff import FrameHandoff
from nvr.config import NvrConfig
from nvr.tasks import Backoff
from support import FOOTAGE, RtspServer, camera_yaml, looped_footage, shared_file, wait_for


def two_cameras(broken: str) -> str:
    return "ffmpeg: {stall_timeout: 2}\ncameras:" + looped_footage("healthy") + broken


async def watch_fps(camera: Camera, seconds: float) -> list[float]:
    """camera_fps sampled every 0.5 s for ``seconds``."""
    samples = []
    for _ in range(int(seconds / 0.5)):
        await trio.sleep(0.5)
        samples.append(camera.handoff.received.rate())
    return samples


@pytest.mark.slow
async def test_frames_flow_and_stats_count_them(media_config, serve) -> None:
    served = await serve(media_config("cameras:" + looped_footage("front")), cameras=True)
    camera = served.service.cameras["front"]

    await wait_for(lambda: camera.latest is not None, 20, "the first frame")
    await trio.sleep(3)

    stats = (await served.client.get("/api/stats")).json()["front"]
    assert 7 <= stats["camera_fps"] <= 12  # the footage plays at 10 fps
    assert stats["process_fps"] > 5
    assert stats["capture_pid"] == camera.capture_pid > 0
    assert stats["capture_pid"] != stats["pid"] == os.getpid()
    assert camera.pool.allocated <= 5  # buffers are reused, not allocated per frame


@pytest.mark.slow
async def test_killed_ffmpeg_is_restarted_while_the_other_camera_carries_on(
    media_config, serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    served = await serve(media_config(two_cameras(looped_footage("victim"))), cameras=True)
    healthy, victim = (served.service.cameras[name] for name in ("healthy", "victim"))
    await wait_for(lambda: victim.latest is not None and healthy.latest is not None, 20,
                   "frames from both cameras")
    await trio.sleep(1)
    first_pid = victim.capture_pid

    os.kill(first_pid, signal.SIGKILL)
    fps_meanwhile = await watch_fps(healthy, 3)
    await wait_for(lambda: victim.capture_pid not in (0, first_pid), 10, "a new ffmpeg")

    assert "victim: ffmpeg stopped sending frames" in caplog.text
    assert "victim: restarting ffmpeg in 1 s" in caplog.text
    assert min(fps_meanwhile) > 5, fps_meanwhile
    index_after_restart = victim.latest.frame.index
    await trio.sleep(1.5)
    assert victim.latest.frame.index > index_after_restart


@pytest.mark.slow
async def test_missing_file_backs_off_and_is_logged(
    media_config, serve, caplog: pytest.LogCaptureFixture, tmp_path
) -> None:
    broken = camera_yaml("missing", str(tmp_path / "nope.mp4"), "-re")
    served = await serve(media_config(two_cameras(broken)), cameras=True)
    healthy = served.service.cameras["healthy"]

    fps = await watch_fps(healthy, 5)

    assert "missing: restarting ffmpeg in 1 s" in caplog.text
    assert "missing: restarting ffmpeg in 2 s" in caplog.text
    assert "No such file or directory" in caplog.text  # ffmpeg's own words are logged
    assert min(fps[2:]) > 5, fps
    response = await served.client.get("/api/missing/latest.jpg")
    assert response.status_code == 503
    assert response.json()["message"] == "No frame received from camera missing yet"
    assert (await served.client.get("/api/stats")).json()["missing"]["capture_pid"] == 0


@pytest.mark.slow
async def test_wrong_resolution_is_reported_and_restarted(
    media_config, serve, caplog: pytest.LogCaptureFixture
) -> None:
    served = await serve(
        media_config(two_cameras(looped_footage("wrong", width=640, height=360))), cameras=True
    )
    healthy, wrong = served.service.cameras["healthy"], served.service.cameras["wrong"]

    fps = await watch_fps(healthy, 4)

    assert ("wrong: ffmpeg delivers 768x432 frames but width and height are 640x360 "
            "in the config") in caplog.text
    assert "wrong: restarting ffmpeg in 1 s" in caplog.text
    assert wrong.latest is None  # garbled frames never reach the pipeline
    assert min(fps[2:]) > 5, fps


@pytest.mark.slow
async def test_stalled_camera_is_restarted(
    media_config, serve, caplog: pytest.LogCaptureFixture
) -> None:
    # One frame a minute: after the first, the camera looks dead.
    stalled = camera_yaml("stalled", "testsrc2=size=320x240:rate=1/60", "-re -f lavfi",
                          width=320, height=240)
    served = await serve(media_config(two_cameras(stalled)), cameras=True)

    fps = await watch_fps(served.service.cameras["healthy"], 4)

    assert "stalled: no frame received in 2 s" in caplog.text
    assert "stalled: restarting ffmpeg in 1 s" in caplog.text
    assert min(fps[2:]) > 5, fps


async def test_colour_range_comes_from_the_stream(media_config, serve) -> None:
    config = media_config("cameras:" + looped_footage("limited") + f"""
  full:
    ffmpeg:
      inputs:
        - path: "{shared_file(FOOTAGE)}"
          input_args: -re -stream_loop -1
          roles: [detect]
      output_args:
        detect: -vf scale=out_range=full -f yuv4mpegpipe -pix_fmt yuv420p
    width: 768
    height: 432
""")
    served = await serve(config, cameras=True)
    limited, full = (served.service.cameras[name] for name in ("limited", "full"))
    await wait_for(lambda: limited.latest is not None and full.latest is not None, 20,
                   "frames from both cameras")

    assert limited.latest.frame.full_range is False
    assert full.latest.frame.full_range is True


def test_frames_waiting_too_long_are_dropped_and_counted(media_config) -> None:
    config: NvrConfig = media_config("cameras:" + looped_footage("front"))
    camera = Camera("front", config.cameras["front"], config.media, 20.0)
    now = [100.0]
    camera.handoff = FrameHandoff(clock=lambda: now[0])

    for _ in range(3):
        camera.handoff.deliver(camera.pool.take())

    now[0] += 10.0
    assert camera.handoff.received.rate() == 0.3
    # Two frames were replaced before the processor took them.
    assert camera.handoff.skipped.rate() == 0.2
    assert camera.pool.allocated == 4


def test_backoff_doubles_to_a_minute_and_resets_after_a_good_minute() -> None:
    backoff = Backoff()
    delays = [backoff.next_delay(healthy_for=0) for _ in range(8)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.next_delay(healthy_for=61) == 1
    assert backoff.next_delay(healthy_for=5) == 2


@pytest.mark.slow
async def test_a_crashing_pipeline_restarts_that_camera_only(
    media_config, serve, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = media_config("cameras:" + looped_footage("healthy") + looped_footage("buggy"))
    served = await serve(config, cameras=True)
    healthy, buggy = served.service.cameras["healthy"], served.service.cameras["buggy"]
    await wait_for(lambda: buggy.latest is not None, 20, "frames from the buggy camera")

    def broken_motion(frame):
        raise RuntimeError("a bug in motion detection")

    index_before = buggy.latest.frame.index
    monkeypatch.setattr(buggy.processor, "motion_boxes", broken_motion)
    fps = await watch_fps(healthy, 3)

    assert "buggy: camera pipeline failed, retrying in 1 s" in caplog.text
    assert "RuntimeError: a bug in motion detection" in caplog.text
    assert min(fps[2:]) > 5, fps

    monkeypatch.undo()
    await wait_for(lambda: buggy.latest.frame.index > index_before + 5, 20, "new frames")
    # Frame numbers go on after a restart, so shared renders never serve an old picture.
    first = await served.client.get("/api/buggy/latest.jpg")
    await trio.sleep(0.5)
    second = await served.client.get("/api/buggy/latest.jpg")
    assert first.status_code == second.status_code == 200
    assert first.content != second.content


@pytest.fixture
def rtsp_camera():
    server = RtspServer(shared_file(FOOTAGE))
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
async def test_rtsp_camera_drop_out_and_recovery(
    media_config, serve, caplog: pytest.LogCaptureFixture, rtsp_camera: RtspServer
) -> None:
    # Default input args: -rtsp_transport tcp -timeout 5000000, as for a real camera.
    served = await serve(media_config("ffmpeg: {stall_timeout: 3}\ncameras:" + f"""
  door:
    ffmpeg:
      inputs:
        - path: {rtsp_camera.url}
          roles: [detect]
    width: 768
    height: 432
"""), cameras=True)
    door = served.service.cameras["door"]
    await wait_for(lambda: door.latest is not None and door.latest.frame.index >= 20, 20,
                   "two seconds of RTSP frames")

    rtsp_camera.stop()
    await wait_for(lambda: "door: restarting ffmpeg in 2 s" in caplog.text, 20,
                   "a second restart while the camera is gone")
    assert door.capture_pid == 0 or door.handoff.received.rate() < 5

    rtsp_camera.start()
    frames_before = door.latest.frame.index
    await wait_for(lambda: door.latest.frame.index > frames_before + 20, 30,
                   "frames again once the camera is back")
    assert door.handoff.received.rate() > 0
