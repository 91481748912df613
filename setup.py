"""Build the Cython kernels in nvr/_fast and stamp the git commit into the package."""

import subprocess
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent


def git_commit() -> str:
    """Short hash of the checkout being built, or 'dev' outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=7", "HEAD"],
            cwd=HERE, capture_output=True, text=True, check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "dev"
    return out.stdout.strip() or "dev"


class BuildPyWithCommit(build_py):
    """Write nvr/_commit.py into the build so /api/version can name the commit."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "nvr" / "_commit.py"
        target.write_text(f'COMMIT = "{git_commit()}"\n')


extensions = [
    Extension(
        f"nvr._fast.{path.stem}",
        [str(path.relative_to(HERE))],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
    )
    for path in sorted((HERE / "nvr" / "_fast").glob("*.pyx"))
]

setup(
    ext_modules=cythonize(extensions, language_level=3, compiler_directives={
        "boundscheck": False, "wraparound": False, "cdivision": True, "initializedcheck": False,
    }),
    cmdclass={"build_py": BuildPyWithCommit},
)
