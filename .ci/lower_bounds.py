"""Print a pip constraints file pinning every dependency to its lower bound in pyproject.toml.

`requires = ["x>=1.2"]` and the project's dependencies and extras become `x==1.2`: installing
with these constraints proves that the bounds pyproject.toml states are the ones tested.
Standard library only (tomllib): it runs before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

BOUND = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*>=\s*([^,;\s]+)\s*(;.*)?$")


def lower_bounds(pyproject: dict) -> dict[str, str]:
    """Name -> lower bound of every requirement with one (build, run and every extra)."""
    project = pyproject["project"]
    requirements = [*pyproject["build-system"]["requires"], *project["dependencies"]]
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    bounds = {}
    for requirement in requirements:
        found = BOUND.match(requirement)
        if found is None:
            sys.exit(f"no lower bound in {requirement!r}: every requirement needs one")
        bounds[found.group(1).lower()] = found.group(3)
    return bounds


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")
    for name, version in sorted(lower_bounds(tomllib.loads(path.read_text())).items()):
        print(f"{name}=={version}")
