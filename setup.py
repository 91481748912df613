"""Build the Cython kernels in nvr/_fast and stamp the git commit into the package."""

import re
import subprocess
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).parent
COMMIT_FILE = Path("nvr") / "_commit.py"


def git_commit() -> str:
    """In an sdist (it has PKG-INFO), the hash stamped into it when it was made, even if it
    was unpacked inside some other git checkout; else the short hash of the checkout being
    built; 'dev' outside both."""
    stamped = HERE / COMMIT_FILE
    if (HERE / "PKG-INFO").is_file() and stamped.is_file():
        found = re.search(r'COMMIT = "([0-9a-z]+)"', stamped.read_text())
        if found:
            return found.group(1)
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=7", "HEAD"],
            cwd=HERE, capture_output=True, text=True, check=True,
        )
        if out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return "dev"


def write_commit(root: Path) -> None:
    target = root / COMMIT_FILE
    commit = git_commit()
    # The release tree may hard-link the source's files: a new file, not one written through.
    target.unlink(missing_ok=True)
    target.write_text(f'COMMIT = "{commit}"\n')


class BuildPyWithCommit(build_py):
    """Write nvr/_commit.py into the build so /api/version can name the commit."""

    def run(self) -> None:
        super().run()
        write_commit(Path(self.build_lib))


class SdistWithCommit(sdist):
    """Stamp the commit into the sdist too: it is built where there is no git."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        write_commit(Path(base_dir))


extensions = [
    Extension(
        f"nvr._fast.{path.stem}",
        [str(path.relative_to(HERE))],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
        extra_link_args=["-s"],  # stripped: a fifth of the size, and nothing to debug in them
    )
    for path in sorted((HERE / "nvr" / "_fast").glob("*.pyx"))
]

setup(
    ext_modules=cythonize(extensions, language_level=3, compiler_directives={
        "boundscheck": False, "wraparound": False, "cdivision": True, "initializedcheck": False,
    }),
    cmdclass={"build_py": BuildPyWithCommit, "sdist": SdistWithCommit},
)
