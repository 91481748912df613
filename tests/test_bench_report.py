"""``nvr bench`` reporting on synthetic figures: the JSON file, the table, the chart,
``--compare`` and the command line's errors (no suite runs here)."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from nvr.bench import report
from nvr.bench.model import BenchInputs, Figure, Progress, Stat
from nvr.bench.runner import ProgressLine, run_suites
from nvr.cli import main

FIGURES = [
    Figure("decode", "768x432, 1 thread", "fps", Stat(410.0, 400.0, 420.0, 5),
           higher_is_better=True),
    Figure("motion", "1280x720 frame", "ms", Stat(0.1, 0.095, 0.11, 7),
           reference=Stat(0.25, 0.24, 0.26, 7), reference_name="OpenCV"),
    Figure("regions", "300 px region", "ms", Stat(0.5, 0.2, 0.9, 7),
           reference=Stat(0.4, 0.39, 0.41, 7), reference_name="NumPy + Pillow"),
    Figure("detector", "cpu, 1 thread", "inferences/s", Stat(30.0, 29.0, 31.0, 5),
           reference=Stat(31.0, 30.0, 32.0, 5), reference_name="bare invoke()",
           higher_is_better=True),
    Figure("capacity", "720p at 5 fps, 10% motion", "cameras", Stat(12.0, 12.0, 12.0, 3),
           higher_is_better=True),
    Figure("api", "latest.jpg", "ms", Stat(2.0, 1.9, 2.1, 9)),
]

MACHINE = {"cpu": "Test CPU 3000", "usable_cores": 2}


def _inputs(tmp_path: Path) -> BenchInputs:
    return BenchInputs(video=tmp_path / "clip.mp4", model=tmp_path / "m.tflite",
                       labels=tmp_path / "labels.txt", quick=True)


def _document(tmp_path: Path, figures: list[Figure] = FIGURES) -> dict:
    return report.run_document(figures, MACHINE, _inputs(tmp_path), time.time(), 12.5)


def test_json_round_trip_keeps_every_figure(tmp_path: Path) -> None:
    path = report.write_json(_document(tmp_path), tmp_path / "run.json")
    document = report.load_json(path)
    assert document["schema"] == report.SCHEMA
    assert document["inputs"]["video"] == str(tmp_path / "clip.mp4")
    assert document["inputs"]["quick"] is True
    assert document["seconds"] == 12.5
    assert document["started"][:4].isdigit() and "T" in document["started"]
    assert report.figures_of(document) == FIGURES
    motion = document["figures"][1]
    assert motion["ours"] == {"median": 0.1, "min": 0.095, "max": 0.11, "runs": 7}
    assert motion["ratio"] == pytest.approx(2.5)
    assert motion["noisy"] is False and document["figures"][2]["noisy"] is True
    assert document["figures"][0]["reference"] is None
    assert all(figure["ours"]["median"] > 0 for figure in document["figures"])


def test_load_json_refuses_another_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**_document(tmp_path), "schema": 99}))
    with pytest.raises(report.BenchFileError, match="schema version 99"):
        report.load_json(path)
    path.write_text(json.dumps({"figures": []}))
    with pytest.raises(report.BenchFileError, match="not an nvr bench file"):
        report.load_json(path)
    broken = _document(tmp_path)
    broken["figures"][0]["ours"]["median"] = "fast"
    path.write_text(json.dumps(broken))
    with pytest.raises(report.BenchFileError, match=r"figures\[0\]\.ours\.median"):
        report.load_json(path)


def test_machine_description_names_cpu_libraries_and_delegates() -> None:
    machine = report.machine_description({"cpu": "cpu (XNNPACK, 2 threads)"})
    assert machine["cpu"] and machine["logical_cores"] >= machine["usable_cores"] >= 1
    assert machine["memory_bytes"] > 0
    assert {"nvr", "numpy", "pillow", "simplejpeg", "trio"} <= set(machine["versions"])
    assert machine["pillow"]["distribution"] in ("pillow", "pillow-simd")
    assert re.fullmatch(r"ffmpeg n?\d+\.\d+\S* \(/.+\)", machine["ffmpeg"])
    assert machine["detectors"] == {"cpu": "cpu (XNNPACK, 2 threads)"}
    json.dumps(machine)


def test_table_shows_names_ratios_and_noise() -> None:
    out = io.StringIO()
    report.print_table(FIGURES, out)
    text = out.getvalue()
    for figure in FIGURES:
        assert figure.name in text and figure.group in text
    assert "2.50x better" in text  # motion: 0.25 ms against 0.1 ms
    assert "0.80x" in text and "0.80x better" not in text  # regions: ours is slower
    assert "0.100 ms (0.0950-0.110)" in text and "OpenCV: 0.250 ms" in text
    noisy_line = next(line for line in text.splitlines() if "300 px region" in line)
    assert re.search(r"0\.80x +noisy +NumPy \+ Pillow: 0\.400 ms", noisy_line)
    assert "noisy run: 1 of 6 figures" in text


def test_table_of_a_quiet_run_says_so() -> None:
    out = io.StringIO()
    report.print_table(FIGURES[:2], out)
    assert "quiet run" in out.getvalue() and "noisy" not in out.getvalue()


def test_chart_is_a_png_of_the_announced_size(tmp_path: Path) -> None:
    path = report.write_chart(FIGURES, tmp_path / "run.png", machine=MACHINE)
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        assert image.size == report.chart_size(FIGURES)
    stages = [figure for figure in FIGURES if figure.group in report.STAGE_GROUPS]
    width, height = report.chart_size(FIGURES)
    assert height > report.chart_size(stages)[1] > report.chart_size([])[1]
    assert width == report.CHART_WIDTH


def test_chart_without_figures_still_decodes(tmp_path: Path) -> None:
    path = report.write_chart([], tmp_path / "empty.png")
    with Image.open(path) as image:
        image.load()
        assert image.size == report.chart_size([])


def _slower(figures: list[Figure], factor: float) -> list[Figure]:
    """The same figures on a machine ``factor`` times slower."""
    return [Figure(figure.group, figure.name, figure.unit,
                   Stat(*(value / factor if figure.higher_is_better else value * factor
                          for value in (figure.ours.median, figure.ours.low, figure.ours.high)),
                        figure.ours.runs),
                   figure.reference, figure.reference_name, figure.higher_is_better)
            for figure in figures]


def test_compare_prints_each_ratio_in_the_right_direction(tmp_path: Path) -> None:
    fast = _document(tmp_path, FIGURES[:4])
    slow = _document(tmp_path, [*_slower(FIGURES[:3], 2.0), FIGURES[4]])
    out = io.StringIO()
    report.compare(fast, slow, out, names=("fast.json", "slow.json"))
    lines = out.getvalue().splitlines()

    def line_of(name: str) -> str:
        return next(line for line in lines if f" {name} " in line)

    assert "2.00x worse" in line_of("768x432, 1 thread")  # fps halved
    assert "2.00x worse" in line_of("1280x720 frame")  # ms doubled
    assert "410 fps" in line_of("768x432, 1 thread") and "205 fps" in line_of("768x432, 1")
    assert "only in fast.json: detector/cpu, 1 thread" in out.getvalue()
    assert "only in slow.json: capacity/720p at 5 fps, 10% motion" in out.getvalue()
    assert lines[0].startswith("A = fast.json: Test CPU 3000")

    out = io.StringIO()
    report.compare(slow, fast, out)
    assert "2.00x better" in next(line for line in out.getvalue().splitlines()
                                  if " 1280x720 frame " in line)


def test_compare_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    first = report.write_json(_document(tmp_path), tmp_path / "a.json")
    second = report.write_json(_document(tmp_path, _slower(FIGURES, 1.25)), tmp_path / "b.json")
    assert main(["bench", "--compare", str(first), str(second)]) == 0
    text = capsys.readouterr().out
    assert text.count("1.25x worse") == len(FIGURES)


def test_compare_of_a_file_that_is_not_a_run_exits_2(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    first = report.write_json(_document(tmp_path), tmp_path / "a.json")
    other = tmp_path / "other.json"
    other.write_text("[1, 2]")
    assert main(["bench", "--compare", str(first), str(other)]) == 2
    assert "other.json: not an nvr bench file" in capsys.readouterr().err


def test_missing_video_exits_2_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["bench"]) == 2
    assert capsys.readouterr().err == ("nvr bench: --video FILE is required "
                                       "(footage to decode and process)\n")
    assert main(["bench", "--video", str(tmp_path / "none.mp4")]) == 2
    assert capsys.readouterr().err == f"nvr bench: no video file at {tmp_path / 'none.mp4'}\n"


def test_the_model_defaults_to_the_shipped_reference_ssd(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from nvr.bench.command import inputs_from_args
    from nvr.cli import build_parser
    from nvr.data import DEFAULT_LABELS, DEFAULT_MODEL

    monkeypatch.chdir(tmp_path)  # nothing is looked up in the working directory
    (tmp_path / "clip.mp4").write_bytes(b"\0")
    inputs = inputs_from_args(build_parser().parse_args(["bench", "--video", "clip.mp4"]))
    assert (inputs.model, inputs.labels) == (DEFAULT_MODEL, DEFAULT_LABELS)
    assert inputs.model.is_file() and inputs.labels.is_file()


def test_a_missing_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"\0")
    assert main(["bench", "--video", str(tmp_path / "clip.mp4"), "--model", "none.tflite",
                 "--labels", "none.txt"]) == 2
    assert capsys.readouterr().err == "nvr bench: no detector model at none.tflite\n"


def test_inconsistent_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\0")
    assert main(["bench", "--video", str(video), "--model", str(video)]) == 2
    assert "--model and --labels go together" in capsys.readouterr().err
    assert main(["bench", "--video", str(video), "--detector", "onnx"]) == 2
    assert "the onnx detector needs --onnx-model" in capsys.readouterr().err


def test_config_supplies_model_kinds_and_video(tmp_path: Path,
                                               write_config: Callable[..., Path]) -> None:
    from nvr.bench.command import inputs_from_args
    from nvr.cli import build_parser

    for name in ("clip.mp4", "m.tflite", "labels.txt"):
        (tmp_path / name).write_bytes(b"\0")
    config = write_config(f"""
        detectors: {{cpu1: {{type: cpu}}}}
        model: {{path: {tmp_path / 'm.tflite'}, labelmap_path: {tmp_path / 'labels.txt'}}}
        cameras:
          door:
            ffmpeg: {{inputs: [{{path: {tmp_path / 'clip.mp4'}, roles: [detect]}}]}}
            width: 768
            height: 432
        """)
    inputs = inputs_from_args(build_parser().parse_args(["bench", "-c", str(config)]))
    assert inputs == BenchInputs(video=tmp_path / "clip.mp4", model=tmp_path / "m.tflite",
                                 labels=tmp_path / "labels.txt", detectors=("cpu",))


def test_config_supplies_the_ffmpeg_binary(tmp_path: Path, write_config: Callable[..., Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from nvr.bench.command import inputs_from_args
    from nvr.cli import build_parser
    from nvr.config import ffmpeg

    (tmp_path / "clip.mp4").write_bytes(b"\0")
    binary = tmp_path / "my-ffmpeg"
    binary.symlink_to(ffmpeg.ffmpeg_executable())
    monkeypatch.setattr(ffmpeg, "_configured_ffmpeg", None)  # restored after the test
    config = write_config(f"""
        ffmpeg: {{path: {binary}}}
        cameras:
          door:
            ffmpeg: {{inputs: [{{path: {tmp_path / 'clip.mp4'}, roles: [detect]}}]}}
            width: 768
            height: 432
        """)
    inputs_from_args(build_parser().parse_args(["bench", "-c", str(config)]))
    assert ffmpeg.ffmpeg_executable() == str(binary)


def test_a_failing_suite_is_reported_and_the_others_run(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    def broken(inputs: BenchInputs, progress: Progress) -> list[Figure]:
        progress("about to fail")
        raise RuntimeError("no camera today")

    def working(inputs: BenchInputs, progress: Progress) -> list[Figure]:
        progress("one step")
        progress("another step")
        return FIGURES[:2]

    for name, run in (("broken", broken), ("working", working)):
        module = types.ModuleType(f"nvr.bench.{name}")
        module.run = run  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, f"nvr.bench.{name}", module)
    err = io.StringIO()
    figures, failures = run_suites(_inputs(tmp_path), ["broken", "working"],
                                   ProgressLine(2, err))
    assert figures == FIGURES[:2]
    assert len(failures) == 1 and failures[0].startswith("broken: RuntimeError: no camera")
    log = err.getvalue()
    assert "nvr bench: suite broken: RuntimeError" in log
    assert "[#####     ] 2/2 working  step 3" in log


def test_run_bench_writes_json_and_chart_despite_a_failing_suite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from nvr.bench.runner import SUITES, run_bench

    def suite(name: str) -> types.ModuleType:
        def run(inputs: BenchInputs, progress: Progress) -> list[Figure]:
            progress(f"{name} step")
            if name == "api":
                raise OSError("port in use")
            return [figure for figure in FIGURES if (figure.group == "capacity") ==
                    (name == "capacity") and name != "detectors"]

        module = types.ModuleType(f"nvr.bench.{name}")
        module.run = run  # type: ignore[attr-defined]
        module.active_delegates = lambda inputs: {"cpu": "cpu (test)"}  # type: ignore
        return module

    for name in SUITES:
        monkeypatch.setitem(sys.modules, f"nvr.bench.{name}", suite(name))
    out, err = io.StringIO(), io.StringIO()
    document = run_bench(_inputs(tmp_path), out_dir=tmp_path / "runs", out=out, err=err)
    assert document["failures"] == [
        next(line for line in document["failures"] if line.startswith("api: OSError"))]
    assert len(document["figures"]) == len(FIGURES)
    assert document["machine"]["detectors"] == {"cpu": "cpu (test)"}
    (json_path,) = (tmp_path / "runs").glob("bench-*.json")
    (png_path,) = (tmp_path / "runs").glob("bench-*.png")
    assert json_path.stem == png_path.stem
    assert report.load_json(json_path) == document
    with Image.open(png_path) as image:
        image.load()
    assert "failed: api: OSError: port in use" in out.getvalue()
    assert f"wrote {json_path}" in out.getvalue()
    assert "nvr bench: suite api: OSError" in err.getvalue()
