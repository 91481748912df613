"""What a benchmark run writes: the machine's description, the JSON file, the terminal table,
the PNG chart, and the comparison of two JSON files (``nvr bench --compare``)."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from nvr.bench.model import NOISY_SPREAD, BenchInputs, Figure, Stat

SCHEMA = 1
"""Version of the JSON file's layout; ``load_json`` refuses any other."""

STAGE_GROUPS = ("decode", "motion", "regions", "model_input", "overlays", "detector")
"""The groups the chart draws as per-stage costs, ours next to the baseline."""

CAPACITY_GROUP = "capacity"

LIBRARIES = {
    "numpy": ("numpy",),
    "simplejpeg": ("simplejpeg",),
    "trio": ("trio",),
    "ai-edge-litert": ("ai-edge-litert",),
    "tflite-runtime": ("tflite-runtime",),
    "onnxruntime": ("onnxruntime",),
    "opencv": ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless",
               "opencv-contrib-python"),
}
"""Reported name -> the distributions that provide it (the first one installed wins)."""


class BenchFileError(ValueError):
    """A file given to ``load_json`` is not a benchmark run this version can read."""


# --- the machine ---------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _version(*distributions: str) -> str | None:
    for distribution in distributions:
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return None


def _pillow() -> dict[str, Any]:
    import PIL

    distribution = "pillow-simd" if _version("pillow-simd") else "pillow"
    version = PIL.__version__
    return {"distribution": distribution, "version": version,
            "simd": distribution == "pillow-simd" or ".post" in version}


def _ffmpeg() -> str:
    from nvr.config.ffmpeg import ffmpeg_executable, ffmpeg_version

    try:
        executable = ffmpeg_executable()
    except (ImportError, RuntimeError) as error:  # no ffmpeg on PATH nor in the wheel
        return f"ffmpeg unavailable ({error})"
    return f"ffmpeg {ffmpeg_version(executable)} ({executable})"


def machine_description(delegates: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The machine a run measured: CPU, cores, memory, OS, library versions, ffmpeg.

    ``delegates`` says what each detector kind ran on (``{"cpu": "cpu (XNNPACK, 2 threads)",
    "edgetpu": "edgetpu -> cpu fallback"}``): only the caller that created them knows.
    """
    from nvr.version import version_string

    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    versions = {"nvr": version_string(), "python": platform.python_version()}
    pillow = _pillow()
    versions["pillow"] = pillow["version"]
    for name, distributions in LIBRARIES.items():
        found = _version(*distributions)
        if found is not None:
            versions[name] = found
    return {
        "cpu": _cpu_model(),
        "architecture": platform.machine(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_bytes": _memory_bytes(),
        "os": platform.platform(),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": versions,
        "pillow": pillow,
        "ffmpeg": _ffmpeg(),
        "detectors": dict(delegates or {}),
    }


# --- the JSON file -------------------------------------------------------------------------


def _stat_json(stat: Stat | None) -> dict[str, float] | None:
    if stat is None:
        return None
    return {"median": stat.median, "min": stat.low, "max": stat.high, "runs": stat.runs}


def figure_json(figure: Figure) -> dict[str, Any]:
    """One figure as the JSON file stores it (with its ratio and noisy flag computed)."""
    return {
        "group": figure.group,
        "name": figure.name,
        "unit": figure.unit,
        "higher_is_better": figure.higher_is_better,
        "ours": _stat_json(figure.ours),
        "reference": _stat_json(figure.reference),
        "reference_name": figure.reference_name,
        "ratio": figure.ratio,
        "noisy": figure.noisy,
    }


def _inputs_json(inputs: BenchInputs) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for field in fields(inputs):
        value = getattr(inputs, field.name)
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        document[field.name] = value
    return document


def run_document(figures: list[Figure], machine: dict, inputs: BenchInputs, started: float,
                 seconds: float, failures: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON document of a run that began at ``started`` (epoch s) and took ``seconds``.

    ``failures`` lists the suites that raised (one line each); it is empty for a full run.
    """
    return {
        "schema": SCHEMA,
        "machine": machine,
        "inputs": _inputs_json(inputs),
        "started": datetime.fromtimestamp(started).astimezone().isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "failures": list(failures),
        "figures": [figure_json(figure) for figure in figures],
    }


def write_json(document: Mapping[str, Any], path: str | Path) -> Path:
    """Write a run's document to ``path`` (indented, UTF-8); returns the path."""
    path = Path(path)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _check_stat(where: str, stat: object) -> None:
    if not isinstance(stat, dict):
        raise BenchFileError(f"{where}: expected an object with median, min, max, runs")
    for key in ("median", "min", "max", "runs"):
        if not isinstance(stat.get(key), int | float) or isinstance(stat.get(key), bool):
            raise BenchFileError(f"{where}.{key}: expected a number, got {stat.get(key)!r}")


def validate(document: object, source: str = "document") -> dict[str, Any]:
    """``document`` if it is a benchmark run of this schema; BenchFileError naming the problem
    otherwise."""
    if not isinstance(document, dict) or "schema" not in document:
        raise BenchFileError(f"{source}: not an nvr bench file (no schema version)")
    if document["schema"] != SCHEMA:
        raise BenchFileError(f"{source}: schema version {document['schema']!r}, this nvr "
                             f"reads version {SCHEMA}; rerun nvr bench with this version")
    for key, kind in (("machine", dict), ("inputs", dict), ("figures", list)):
        if not isinstance(document.get(key), kind):
            raise BenchFileError(f"{source}: {key} is missing or not a {kind.__name__}")
    for index, figure in enumerate(document["figures"]):
        where = f"{source}: figures[{index}]"
        if not isinstance(figure, dict):
            raise BenchFileError(f"{where}: expected an object")
        for key in ("group", "name", "unit"):
            if not isinstance(figure.get(key), str):
                raise BenchFileError(f"{where}.{key}: expected a string")
        if not isinstance(figure.get("higher_is_better"), bool):
            raise BenchFileError(f"{where}.higher_is_better: expected true or false")
        _check_stat(f"{where}.ours", figure.get("ours"))
        if figure.get("reference") is not None:
            _check_stat(f"{where}.reference", figure["reference"])
    return document


def load_json(path: str | Path) -> dict[str, Any]:
    """Read and validate a file written by ``write_json``; BenchFileError says what is wrong."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise BenchFileError(f"{path}: cannot read ({error.strerror or error})") from None
    except ValueError as error:
        raise BenchFileError(f"{path}: not JSON ({error})") from None
    return validate(document, str(path))


def _stat_of(data: Mapping[str, Any] | None) -> Stat | None:
    if data is None:
        return None
    return Stat(float(data["median"]), float(data["min"]), float(data["max"]), int(data["runs"]))


def figures_of(document: Mapping[str, Any]) -> list[Figure]:
    """The figures of a validated document, as ``Figure`` objects again."""
    return [Figure(group=item["group"], name=item["name"], unit=item["unit"],
                   ours=_stat_of(item["ours"]),  # type: ignore[arg-type]
                   reference=_stat_of(item.get("reference")),
                   reference_name=item.get("reference_name"),
                   higher_is_better=item["higher_is_better"])
            for item in document["figures"]]


# --- the terminal table --------------------------------------------------------------------


def number(value: float) -> str:
    """A figure with as many digits as it deserves: 1234, 56.7, 8.90, 0.123, 0.0950."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:#.3g}"


def ratio_text(ratio: float | None) -> str:
    """``2.50x better`` when ours wins, ``0.80x`` when it loses, empty without a reference."""
    if ratio is None:
        return ""
    text = f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"
    return f"{text} better" if ratio >= 1 else text


def _with_range(stat: Stat, unit: str) -> str:
    if stat.runs <= 1 or stat.low == stat.high:
        return f"{number(stat.median)} {unit}"
    return f"{number(stat.median)} {unit} ({number(stat.low)}-{number(stat.high)})"


def _grouped(figures: Iterable[Figure]) -> dict[str, list[Figure]]:
    groups: dict[str, list[Figure]] = {}
    for figure in figures:
        groups.setdefault(figure.group, []).append(figure)
    return groups


def print_table(figures: Sequence[Figure], out: IO[str] | None = None) -> None:
    """The figures grouped by suite: ours median (min-max), the baseline and the ratio; ends
    with a line saying whether the machine was quiet enough to trust them."""
    out = out or sys.stdout
    if not figures:
        print("no figures", file=out)
        return
    rows = {id(figure): (figure.name, _with_range(figure.ours, figure.unit),
                         ratio_text(figure.ratio), "noisy" if figure.noisy else "",
                         "" if figure.reference is None else
                         f"{figure.reference_name or 'reference'}: "
                         f"{_with_range(figure.reference, figure.unit)}")
            for figure in figures}
    headers = ("figure", "ours: median (min-max)", "ratio", "", "reference: median (min-max)")
    widths = [max(len(header), *(len(row[column]) for row in rows.values()))
              for column, header in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f"{text:{width}}" for text, width in
                         zip(cells, widths, strict=True)).rstrip()

    header = line(headers)
    print(header, file=out)
    print("-" * len(header), file=out)
    for group, members in _grouped(figures).items():
        print(f"[{group}]", file=out)
        for figure in members:
            print(line(rows[id(figure)]), file=out)
    noisy = [figure for figure in figures if figure.noisy]
    if noisy:
        print(f"\nnoisy run: {len(noisy)} of {len(figures)} figures spread more than "
              f"{NOISY_SPREAD:.0%} between min and max (the machine was busy);\n"
              "close other programs and run again before trusting them", file=out)
    else:
        print(f"\nquiet run: every figure within {NOISY_SPREAD:.0%} between min and max",
              file=out)


# --- comparing two runs --------------------------------------------------------------------


def change_text(before: float, after: float, higher_is_better: bool) -> str:
    """How ``after`` compares with ``before``: ``1.52x better``, ``1.30x worse`` or ``same``."""
    if before <= 0 or after <= 0:
        return "n/a"
    factor = after / before if higher_is_better else before / after
    if abs(factor - 1) < 0.005:
        return "same"
    return f"{factor:.2f}x better" if factor > 1 else f"{1 / factor:.2f}x worse"


def compare(a: Mapping[str, Any], b: Mapping[str, Any], out: IO[str] | None = None, *,
            names: tuple[str, str] = ("A", "B")) -> None:
    """Print, for each figure in both runs (by group and name), A's and B's median and how
    B compares with A (better or worse, by the figure's direction); figures in only one run
    are listed at the end."""
    out = out or sys.stdout
    first, second = ({(item["group"], item["name"]): item for item in doc["figures"]}
                     for doc in (a, b))
    for letter, name, doc in zip("AB", names, (a, b), strict=True):
        machine = doc.get("machine", {})
        print(f"{letter} = {name}: {machine.get('cpu', '?')}, "
              f"{machine.get('usable_cores', '?')} cores, {doc.get('started', '?')}", file=out)
    common = [key for key in first if key in second]
    width = max([len("figure"), *(len(name) for _, name in common)])
    group = None
    for key in common:
        old, new = first[key], second[key]
        if key[0] != group:
            group = key[0]
            print(f"\n{group}", file=out)
            print(f"  {'figure':{width}}  {'A':>16}  {'B':>16}  B against A", file=out)
        unit = new["unit"]
        before, after = old["ours"]["median"], new["ours"]["median"]
        note = "" if old["unit"] == unit else f" (units differ: {old['unit']} / {unit})"
        if old.get("noisy") or new.get("noisy"):
            note += " noisy"
        print(f"  {key[1]:{width}}  {number(before) + ' ' + old['unit']:>16}  "
              f"{number(after) + ' ' + unit:>16}  "
              f"{change_text(before, after, new['higher_is_better'])}{note}", file=out)
    for name, own, other in ((names[0], first, second), (names[1], second, first)):
        only = [f"{group}/{figure}" for group, figure in own if (group, figure) not in other]
        if only:
            print(f"\nonly in {name}: {', '.join(only)}", file=out)
    if not common:
        print("\nno figure in common", file=out)


# --- the chart -----------------------------------------------------------------------------

CHART_WIDTH = 1100
ROW = 34
PANEL_GAP = 40
TITLE_HEIGHT = 70
LEGEND_HEIGHT = 30
LABEL_WIDTH = 380
VALUE_WIDTH = 210
MARGIN = 16
OURS_COLOUR = (38, 110, 196)
REFERENCE_COLOUR = (160, 160, 160)
BETTER_COLOUR = (30, 140, 60)
WORSE_COLOUR = (190, 50, 40)


def _panels(figures: Sequence[Figure]) -> list[tuple[str, list[Figure], bool]]:
    """(title, figures, per-row scale) for each panel the chart draws."""
    stages = [figure for figure in figures if figure.group in STAGE_GROUPS]
    capacity = [figure for figure in figures if figure.group == CAPACITY_GROUP]
    panels = []
    if stages:
        panels.append(("per stage: nvr against the baseline, each row scaled to its larger "
                       "value (ms: shorter is better; per second: longer is better)", stages,
                       True))
    if capacity:
        panels.append(("camera capacity (bars scaled per unit)", capacity, False))
    return panels


def chart_size(figures: Sequence[Figure]) -> tuple[int, int]:
    """``(width, height)`` in pixels of the chart ``write_chart`` draws for ``figures``."""
    height = TITLE_HEIGHT + LEGEND_HEIGHT
    panels = _panels(figures)
    for _, members, _ in panels:
        height += ROW + len(members) * ROW + PANEL_GAP
    if not panels:
        height += ROW
    return CHART_WIDTH, height + MARGIN


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def _fit(draw: Any, text: str, font: Any, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _draw_bar(draw: Any, x: int, y: int, length: float, height: int,
              colour: tuple[int, int, int]) -> None:
    draw.rectangle((x, y, x + max(1, round(length)), y + height), fill=colour)


def write_chart(figures: Sequence[Figure], path: str | Path, *,
                machine: Mapping[str, Any] | None = None) -> Path:
    """A PNG of the per-stage costs (ours against the baseline, row by row) and of the
    camera capacity, titled with the machine's CPU; drawn with Pillow only."""
    from PIL import Image, ImageDraw

    width, height = chart_size(figures)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title_font, font, small = _font(20), _font(13), _font(11)
    cpu = (machine or {}).get("cpu", "unknown CPU")
    cores = (machine or {}).get("usable_cores")
    title = f"nvr bench: {cpu}" + (f", {cores} cores" if cores else "")
    draw.text((MARGIN, MARGIN), _fit(draw, title, title_font, width - 2 * MARGIN),
              fill="black", font=title_font)
    y = TITLE_HEIGHT
    for offset, (colour, label) in enumerate(((OURS_COLOUR, "nvr"),
                                              (REFERENCE_COLOUR, "reference"))):
        x = MARGIN + offset * 140
        draw.rectangle((x, y + 4, x + 14, y + 16), fill=colour)
        draw.text((x + 20, y + 3), label, fill="black", font=font)
    y += LEGEND_HEIGHT
    bar_x = MARGIN + LABEL_WIDTH
    bar_width = width - bar_x - VALUE_WIDTH - MARGIN
    panels = _panels(figures)
    if not panels:
        draw.text((MARGIN, y + 8), "no stage or capacity figures in this run", fill="black",
                  font=font)
    for panel_title, members, per_row in panels:
        draw.text((MARGIN, y + 10), panel_title, fill="black", font=font)
        y += ROW
        unit_scale: dict[str, float] = {}
        for figure in members:
            values = [figure.ours.median] + ([figure.reference.median] if figure.reference
                                             else [])
            unit_scale[figure.unit] = max(unit_scale.get(figure.unit, 0.0), *values)
        for index, figure in enumerate(members):
            if index % 2:
                draw.rectangle((MARGIN, y, width - MARGIN, y + ROW - 1), fill=(244, 246, 250))
            label = (figure.name if figure.name.startswith(figure.group.split("_")[0])
                     else f"{figure.group}: {figure.name}")
            draw.text((MARGIN + 4, y + 10), _fit(draw, label, font, LABEL_WIDTH - 12),
                      fill="black", font=font)
            reference = figure.reference.median if figure.reference else None
            scale = (max(figure.ours.median, reference or 0.0) if per_row
                     else unit_scale[figure.unit]) or 1.0
            bar_height = 11 if reference is not None else 22
            _draw_bar(draw, bar_x, y + 5, bar_width * figure.ours.median / scale, bar_height,
                      OURS_COLOUR)
            if reference is not None:
                _draw_bar(draw, bar_x, y + 17, bar_width * reference / scale, 11,
                          REFERENCE_COLOUR)
            text = f"{number(figure.ours.median)} {figure.unit}"
            if reference is not None:
                text += f" / {number(reference)}"
            draw.text((bar_x + bar_width + 8, y + 4), _fit(draw, text, small, VALUE_WIDTH - 12),
                      fill="black", font=small)
            ratio = ratio_text(figure.ratio) + (" noisy" if figure.noisy else "")
            if ratio.strip():
                colour = (BETTER_COLOUR if figure.ratio is not None and figure.ratio >= 1
                          else WORSE_COLOUR if figure.ratio is not None else (120, 120, 120))
                draw.text((bar_x + bar_width + 8, y + 18), ratio, fill=colour, font=small)
            y += ROW
        y += PANEL_GAP
    path = Path(path)
    image.save(path, format="PNG", optimize=True)
    return path
