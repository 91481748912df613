"""The version string served by /api/version: ``X.Y.Z-<commit>``."""

from nvr import __version__


def commit() -> str:
    """Short git hash stamped in at build time, or ``dev`` when run from a source tree."""
    try:
        from nvr._commit import COMMIT
    except ImportError:
        return "dev"
    return COMMIT


def version_string() -> str:
    """``0.1.0-1a2b3c4`` for a build from a git checkout, ``0.1.0-dev`` otherwise."""
    return f"{__version__}-{commit()}"
