"""The web UI: what its cameras page costs the service, next to a script making the same
requests.

Runs ``nvr run`` on looped real footage (two 768x432 cameras, detection off so that the
figures are the cost of serving), then in turns: nothing; the cameras page open in Debian's
headless Chromium (through Selenium); a script making the page's own requests (each second
``/api/stats``, and per camera ``latest.jpg?h=270`` and ``/api/<camera>/objects``). The
service's CPU (from /proc) of each window is reported as the median over the rounds; the
baseline of the page is the script.

    python -m benchmarks.bench_ui [--seconds 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import free_port, shared_file
from nvr.bench.procfs import cpu_seconds

FOOTAGE = "media/intel_one_by_one_person_detection_768x432.mp4"
CAMERAS = ("front", "back")
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def config_text(footage: Path, port: int, media: Path) -> str:
    cameras = "".join(f"""
  {name}:
    ffmpeg:
      inputs: [{{path: "{footage}", input_args: -re -stream_loop -1, roles: [detect]}}]
    width: 768
    height: 432
    detect: {{enabled: false}}
""" for name in CAMERAS)
    return f"""
web: {{host: 127.0.0.1, port: {port}}}
media: {{clips: {media}/clips, recordings: {media}/rec, cache: {media}/cache}}
cameras:{cameras}"""


def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,900"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def service_cpu(pid: int, seconds: float, during: Any = None) -> float:
    """CPU seconds per second of ``pid`` over ``seconds`` while ``during(deadline)`` runs."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    deadline = start + seconds
    if during is None:
        time.sleep(seconds)
    else:
        during(deadline)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def page_requests(base: str, deadline: float) -> None:
    """What the cameras page asks for, once a second."""
    with httpx.Client(base_url=base, timeout=10) as client:
        while time.monotonic() < deadline:
            tick = time.monotonic()
            client.get("/api/stats")
            for name in CAMERAS:
                client.get(f"/api/{name}/latest.jpg", params={"h": 270, "t": time.time()})
                client.get(f"/api/{name}/objects")
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    footage = shared_file(FOOTAGE)
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        config = Path(folder) / "bench.yml"
        config.write_text(config_text(footage, port, Path(folder)))
        process = subprocess.Popen([sys.executable, "-m", "nvr", "run", "-c", str(config),
                                    "--log-level", "warning"])
        driver = browser()
        try:
            for _ in range(100):
                try:
                    if all(httpx.get(f"{base}/api/{name}/latest.jpg").status_code == 200
                           for name in CAMERAS):
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            results: dict[str, list[float]] = {"idle": [], "page": [], "script": []}

            def page_open(deadline: float) -> None:
                driver.get(f"{base}/")
                time.sleep(max(0.0, deadline - time.monotonic()))
                driver.get("about:blank")

            for _ in range(args.rounds):
                results["idle"].append(service_cpu(process.pid, args.seconds))
                results["page"].append(service_cpu(process.pid, args.seconds, page_open))
                results["script"].append(service_cpu(
                    process.pid, args.seconds, lambda deadline: page_requests(base, deadline)))
        finally:
            driver.quit()
            process.terminate()
            process.wait(10)
    print_results(results, args.seconds)


def print_results(results: dict[str, list[float]], seconds: float) -> None:
    rounds = len(results["idle"])
    print(f"\nThe cameras page ({len(CAMERAS)} cameras of 768x432, detection off): service CPU "
          f"s per s, median (min-max) of {rounds} x {seconds:g} s windows")

    def figure(name: str) -> str:
        values = results[name]
        return f"{statistics.median(values):.4f} ({min(values):.4f}-{max(values):.4f})"

    print(f"{'window':36} {'cpu s/s':>26}")
    print(f"{'nothing open (capture only)':36} {figure('idle'):>26}")
    print(f"{'the cameras page in Chromium':36} {figure('page'):>26}")
    print(f"{'baseline: a script, same requests':36} {figure('script'):>26}")
    idle = statistics.median(results["idle"])
    page = statistics.median(results["page"]) - idle
    script = statistics.median(results["script"]) - idle
    print(f"above capture: page {page:.4f}, script {script:.4f}; page / script: "
          f"{page / script:.2f}x" if script > 0 else "the script cost nothing measurable")


if __name__ == "__main__":
    main()
