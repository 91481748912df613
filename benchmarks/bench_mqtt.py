"""MQTT: what publishing costs a camera with people in view, and how long a count takes from
its frame to a subscriber.

Replays the one-by-one clip (768x432, people walking in one at a time) in real time at 5 fps
through the real pipeline (motion, the SSD on the CPU in a worker thread, tracking) and nvr's
MQTT topics and client, to a real mosquitto on loopback (Debian's package ``mosquitto``) with
a subscriber in another thread. It times the MQTT work on the event loop and in its worker
thread (the topics of each frame, snapshot renders, handing messages to paho and the socket)
and, for each change of the person count, the time from the frame's start to the count
message reaching the subscriber. Baselines: the camera-second (a core's time) and the frame
interval.

    python -m benchmarks.bench_mqtt [--seconds 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as paho
import trio

from benchmarks.bench_objects import FPS, HEIGHT, LABELS, SSD, VIDEO, WIDTH, camera_config
from benchmarks.common import free_port, shared_file
from nvr._fast.motion import MotionDetector
from nvr.capture.decode import decode_file, split_frames
from nvr.config.schema import MqttConfig
from nvr.detection import create_detector
from nvr.detection.frame import FrameDetector
from nvr.frames import planes
from nvr.mqtt.client import MqttClient
from nvr.mqtt.outbox import Message
from nvr.mqtt.topics import CameraTopics, ZoneCounts
from nvr.tracking.best import BestFrame, BestObjects
from nvr.tracking.state import CameraObjects

COUNT_TOPIC = "frigate/bench/person"


class TimedTopics(CameraTopics):
    """The camera's topics, with the time spent in them."""

    frame_seconds = render_seconds = 0.0

    def frame_done(self, *args: Any) -> None:
        start = time.perf_counter()
        super().frame_done(*args)
        self.frame_seconds += time.perf_counter() - start

    def _render(self, best: BestFrame) -> bytes:
        start = time.perf_counter()
        jpeg = super()._render(best)
        self.render_seconds += time.perf_counter() - start
        return jpeg


class TimedClient(MqttClient):
    """The client, with the time spent handing messages to paho (which writes them)."""

    send_seconds = 0.0

    def _send(self, client: paho.Client, messages: list[Message]) -> None:
        start = time.perf_counter()
        super()._send(client, messages)
        self.send_seconds += time.perf_counter() - start


def start_mosquitto(folder: Path, port: int) -> subprocess.Popen[bytes]:
    executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    config = folder / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    broker = subprocess.Popen([executable, "-c", str(config)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return broker
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


class CountWatcher:
    """A subscriber (its own thread) noting when each person count arrives."""

    def __init__(self, port: int) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-watcher")
        self._client.on_message = self._received
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(COUNT_TOPIC)
        self._client.loop_start()

    def _received(self, client: paho.Client, userdata: object,
                  message: paho.MQTTMessage) -> None:
        with self._lock:
            self.arrivals.append((time.monotonic(), bytes(message.payload)))

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


async def one_round(frames: list[np.ndarray], detector: Any, port: int) -> dict[str, Any]:
    config = camera_config()
    client = TimedClient(MqttConfig(host="127.0.0.1", port=port))
    topics = TimedTopics("frigate", "bench", config, client.outbox, ZoneCounts(),
                         lambda label: (255, 0, 0))

    async def detect(tensor: np.ndarray, min_score: float) -> Any:
        return await trio.to_thread.run_sync(detector.detect, tensor, min_score)

    motion = MotionDetector(WIDTH, HEIGHT, frame_height=config.motion.frame_height)
    frame_detector = FrameDetector(config, detect, detector.input_size)
    objects = CameraObjects("bench", config, (), BestObjects(None, 60))
    watcher = CountWatcher(port)
    changes: list[tuple[float, bytes]] = []  # when a frame that changed the count started
    count = 0
    cpu_start = time.process_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.run)
        nursery.start_soon(topics.run)
        while not client.connected:
            await trio.sleep(0.01)
        await trio.sleep(0.5)  # the start-up states reach the watcher first
        ready = time.monotonic()
        start = trio.current_time()
        for index, frame in enumerate(frames):
            await trio.sleep_until(start + index / FPS)
            began = time.monotonic()
            boxes = motion.detect(planes(frame, WIDTH, HEIGHT).y)
            now_time = time.time()
            found, regions = await frame_detector.detect(frame, boxes, objects.tracked_boxes(),
                                                         objects.due_for_check(now_time),
                                                         objects.still_boxes(now_time))
            update = objects.update(frame, False, now_time, found, regions)
            topics.frame_done(update, objects.objects.values(), time.time())
            now = Counter(obj.label for obj in objects.objects.values()
                          if not obj.false_positive)["person"]
            if now != count:
                changes.append((began, str(now).encode()))
                count = now
        await trio.sleep(1.0)  # the last messages arrive
        nursery.cancel_scope.cancel()
    cpu = time.process_time() - cpu_start
    watcher.close()
    arrivals = [arrival for arrival in watcher.arrivals if arrival[0] > ready]
    latencies = [arrival - began for (began, value), (arrival, received)
                 in zip(changes, arrivals, strict=False) if value == received]
    seconds = len(frames) / FPS
    return {
        "mqtt": (topics.frame_seconds + topics.render_seconds + client.send_seconds) / seconds,
        "parts": (topics.frame_seconds / seconds, topics.render_seconds / seconds,
                  client.send_seconds / seconds),
        "process": cpu / seconds,
        "latencies": latencies,
        "changes": len(changes),
        "sent": client.sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    raw = decode_file(shared_file(VIDEO), duration=args.seconds, filters=f"fps={FPS}")
    frames = [frame.copy() for frame in split_frames(raw, WIDTH, HEIGHT)]
    detector = create_detector("cpu", shared_file(SSD), shared_file(LABELS), num_threads=1)
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        broker = start_mosquitto(Path(folder), port)
        try:
            rounds = [trio.run(one_round, frames, detector, port) for _ in range(args.rounds)]
        finally:
            broker.kill()
            broker.wait()
    print_results(rounds, len(frames))


def print_results(rounds: list[dict[str, Any]], frames: int) -> None:
    def median_ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1e3:.3f} ms ({min(values) * 1e3:.3f}-" \
               f"{max(values) * 1e3:.3f})"

    mqtt = [r["mqtt"] for r in rounds]
    latencies = sorted(latency for r in rounds for latency in r["latencies"])
    print(f"\nMQTT on {VIDEO}, {frames / FPS:g} s replayed in real time at {FPS} fps, SSD on 1 "
          f"thread, mosquitto on loopback; {len(rounds)} rounds, medians (min-max)")
    print(f"messages per round: {statistics.median(r['sent'] for r in rounds):.0f}; person "
          f"count changes: {statistics.median(r['changes'] for r in rounds):.0f}")
    print(f"{'figure':44} {'ours':>28} {'baseline':>26} {'ratio':>8}")
    print(f"{'MQTT CPU per camera-second':44} {median_ms(mqtt):>28} "
          f"{'one core: 1000 ms':>26} {statistics.median(mqtt):8.2%}")
    for name, index in (("  of which topics per frame", 0), ("  snapshot renders", 1),
                        ("  handing to paho + socket writes", 2)):
        print(f"{name:44} {median_ms([r['parts'][index] for r in rounds]):>28}")
    process = statistics.median(r["process"] for r in rounds)
    print(f"{'whole process CPU (ratio: the MQTT share)':44} {process * 1e3:25.1f} ms "
          f"{'':>26} {statistics.median(mqtt) / process:8.2%}")
    if latencies:
        p50, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]
        figure = f"{p50 * 1e3:.1f} / {p95 * 1e3:.1f} / {latencies[-1] * 1e3:.1f} ms"
        interval = f"frame interval: {1e3 / FPS:.0f} ms"
        print(f"{'frame -> count message, p50 / p95 / max':44} {figure:>28} {interval:>26} "
              f"{p50 * FPS:8.2f}x")
        print(f"({len(latencies)} count changes; the latency includes detecting the frame)")


if __name__ == "__main__":
    main()
