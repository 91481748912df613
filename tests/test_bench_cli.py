"""``nvr bench --quick`` end to end on ../shared's footage and model (within two minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from nvr.bench import report
from nvr.cli import main
from support import SSD, SSD_LABELS, shared_file

FOOTAGE = "media/intel_one_by_one_person_detection_768x432.mp4"
GROUPS = {"decode", "motion", "regions", "model_input", "overlays", "detector", "capacity",
          "api"}


@pytest.mark.slow
def test_quick_run_writes_json_and_chart(tmp_path: Path) -> None:
    argv = ["bench", "--quick", "--video", str(shared_file(FOOTAGE)),
            "--model", str(shared_file(SSD)), "--labels", str(shared_file(SSD_LABELS)),
            "--out", str(tmp_path)]
    assert main(argv) == 0
    (json_path,) = tmp_path.glob("bench-*.json")
    document = report.load_json(json_path)  # checks the schema
    assert document["schema"] == report.SCHEMA and document["failures"] == []
    assert document["inputs"]["quick"] is True
    assert document["machine"]["cpu"] and document["machine"]["detectors"]
    figures = document["figures"]
    assert {figure["group"] for figure in figures} >= GROUPS
    for figure in figures:
        assert figure["ours"]["median"] > 0, figure
        assert figure["ours"]["min"] <= figure["ours"]["median"] <= figure["ours"]["max"]
        if figure["reference"] is not None:
            assert figure["reference"]["median"] > 0, figure
    (png_path,) = tmp_path.glob("bench-*.png")
    with Image.open(png_path) as image:
        assert image.format == "PNG"
        image.load()
        assert image.size == report.chart_size(report.figures_of(document))
