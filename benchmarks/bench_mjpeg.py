"""MJPEG: CPU cost of the service for 1, 10 and 50 viewers of the same stream.

Two streams are measured: the default one (3 fps, h=360) and a 10 fps one.

Runs ``nvr run`` as a subprocess on looped real footage, opens N MJPEG viewers from this
process and reads the service's CPU time from /proc. Every viewer asks for the same
stream, so one encode per frame should serve them all: the baseline figure is the cost
with one viewer, the ratio is how much more N viewers cost.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import trio

from benchmarks.common import free_port, shared_file
from nvr.bench.mjpeg import cost_with_viewers

FOOTAGE = "media/intel_one_by_one_person_detection_768x432.mp4"
VIEWERS = (0, 1, 10, 50)
STREAMS = ("", "?fps=10&h=360")
SECONDS = 6.0
REPEAT = 3


def config_text(footage: Path, port: int, media: Path) -> str:
    return f"""
web: {{host: 127.0.0.1, port: {port}}}
media: {{clips: {media}/clips, recordings: {media}/rec, cache: {media}/cache}}
cameras:
  front:
    ffmpeg:
      inputs:
        - path: {footage}
          input_args: -re -stream_loop -1
          roles: [detect]
    width: 768
    height: 432
    detect: {{enabled: false}}
"""


async def main() -> None:
    footage = shared_file(FOOTAGE)
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        config = Path(folder) / "bench.yml"
        config.write_text(config_text(footage, port, Path(folder)))
        process = subprocess.Popen([sys.executable, "-m", "nvr", "run", "-c", str(config),
                                    "--log-level", "warning"])
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient() as client:
                for _ in range(100):
                    try:
                        if (await client.get(f"{base}/api/front/latest.jpg")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await trio.sleep(0.2)
            for query in STREAMS:
                results = {}
                for viewers in VIEWERS:
                    runs = [await cost_with_viewers(process.pid, f"{base}/api/front{query}",
                                                    viewers, SECONDS) for _ in range(REPEAT)]
                    costs = [cost for cost, _ in runs]
                    results[viewers] = (statistics.median(costs), min(costs), max(costs),
                                        statistics.median(size for _, size in runs))
                print_results(query or "(defaults: fps=3, h=360)", results)
        finally:
            process.terminate()
            process.wait(10)


def print_results(stream: str, results: dict[int, tuple[float, float, float, float]]) -> None:
    print(f"\nMJPEG viewers of one 768x432 camera (10 fps footage), stream {stream} "
          f"(service CPU s per s, median of {REPEAT} x {SECONDS:g} s)")
    print(f"{'viewers':>8} {'cpu s/s (min-max)':>24} {'vs 1 viewer':>12} {'MB/s sent':>10}")
    one = results[1][0]
    for viewers, (median, low, high, size) in results.items():
        ratio = f"{median / one:5.2f}x" if viewers else "-"
        print(f"{viewers:8d} {median:10.3f} ({low:.3f}-{high:.3f}) {ratio:>12} "
              f"{size / SECONDS / 1e6:10.2f}")
    print("(0 viewers = capture only, detection off; the baseline figure is 1 viewer)")


if __name__ == "__main__":
    trio.run(main)
