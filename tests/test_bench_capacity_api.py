"""The capacity and api suites of ``nvr bench``, quick mode, on ../shared data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nvr.bench import api, capacity
from nvr.bench.model import BenchInputs, Figure
from support import FOOTAGE, SSD, SSD_LABELS, shared_file

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs() -> BenchInputs:
    return BenchInputs(shared_file(FOOTAGE), shared_file(SSD), shared_file(SSD_LABELS),
                       quick=True)


def check(figures: list[Figure], group: str, units: dict[str, str]) -> None:
    """Every figure in ``group``, with the expected unit (by name prefix) and sane stats."""
    names = [figure.name for figure in figures]
    assert len(names) == len(set(names)), names
    assert {figure.group for figure in figures} == {group}
    for prefix, unit in units.items():
        [figure] = [figure for figure in figures if figure.name.startswith(prefix)]
        assert figure.unit == unit, figure
    for figure in figures:
        assert figure.ours.low <= figure.ours.median <= figure.ours.high, figure
        if figure.reference is not None and figure.unit != "%":  # a share may be 0
            assert figure.reference.median > 0 and figure.reference_name, figure
            assert figure.ratio is not None and figure.ratio > 0, figure


@pytest.mark.slow
def test_capacity_suite(inputs: BenchInputs) -> None:
    steps: list[str] = []
    figures = capacity.run(inputs, steps.append)
    assert any("1 camera" in step for step in steps), steps
    assert any("baseline" in step for step in steps), steps
    check(figures, "capacity", {"cameras at 768x432 5 fps": "cameras",
                                "CPU per camera": "% of a core",
                                "detector calls per camera-second": "calls/s",
                                "detector calls that found nothing": "%",
                                "memory per camera (PSS)": "MB", "memory per camera (RSS)": "MB",
                                "frames with motion": "%"})
    by_name = {figure.name: figure for figure in figures}
    cameras = by_name["cameras at 768x432 5 fps"]
    assert cameras.higher_is_better and cameras.ours.median >= 1, cameras
    assert cameras.reference is not None  # the detector on every whole frame, same run
    # The same cameras with the baseline way of calling the detector, in the same run.
    for name in ("CPU per camera", "detector calls per camera-second",
                 "memory per camera (PSS)"):
        figure = by_name[name]
        assert figure.ours.median > 0 and figure.reference is not None, figure
        assert figure.reference_name == "one call per frame with motion, whole motion area"
    pss, rss = by_name["memory per camera (PSS)"], by_name["memory per camera (RSS)"]
    assert 10 < pss.ours.median <= rss.ours.median < 2_000
    assert 0 <= by_name["detector calls that found nothing"].ours.median <= 100
    assert 0 <= by_name["frames with motion"].ours.median <= 100


@pytest.mark.slow
def test_api_suite(inputs: BenchInputs) -> None:
    steps: list[str] = []
    figures = api.run(inputs, steps.append)
    assert steps
    check(figures, "api", {"latest.jpg": "ms", f"MJPEG {api.QUICK.viewers} viewers": "CPU s/s",
                           "MJPEG CPU per part": "ms", "events has_clip": "ms",
                           "events summary has_clip": "ms", "stats": "ms"})
    for figure in figures:
        assert figure.ours.median > 0, figure
    # Every polled route is measured against the bare ASGI app sending the same bytes.
    floored = sorted(figure.name.split(" at ")[0] for figure in figures
                     if figure.reference_name == api.FLOOR_NAME)
    assert floored == ["config", "events has_clip=1 limit=50", "events summary has_clip=1",
                       "stats", "version"], floored
    assert any("20000 rows" in figure.name for figure in figures)


@pytest.mark.parametrize("name", ["bench_serving", "bench_events", "bench_motion",
                                  "bench_regions", "bench_render", "bench_pipeline",
                                  "bench_detectors", "bench_objects", "bench_clips",
                                  "bench_recorder", "bench_camera_cost", "__main__"])
def test_benchmark_scripts_import(name: str) -> None:
    """The scripts of the checkout's benchmarks/, whose code moved into nvr.bench, still
    import it (the installed nvr first on the path, as when run from a checkout)."""
    check = (f"import sys; sys.path.append({str(ROOT)!r}); "
             f"import benchmarks.{name} as module; assert callable(module.main)")
    result = subprocess.run([sys.executable, "-c", check], cwd="/", capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
