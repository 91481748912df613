"""The code base stays ruff clean, type-checks, and its imports keep to the layers in
pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the test extras ('.[test]')")
    return found


def test_ruff_check_passes() -> None:
    result = subprocess.run([tool("ruff"), "check", "--output-format", "concise", str(ROOT)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_have_no_cycle_and_point_down_the_layers() -> None:
    # The contracts of [tool.importlinter]: no cycle among siblings, the layers of the frame's
    # path (capture up to the service), and a foundation that imports no layer.
    result = subprocess.run([tool("lint-imports"), "--no-cache"], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_mypy_finds_no_type_errors() -> None:
    result = subprocess.run([tool("mypy")], capture_output=True, text=True, timeout=600,
                            cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
