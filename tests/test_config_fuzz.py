"""Whatever bytes a config file holds, `nvr check-config` answers with exit code 0 or 2 and, on
2, the file's name and one line per problem: never a traceback."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvr.cli import EXIT_CONFIG, main

PROJECT = Path(__file__).resolve().parents[1]
REAL_CONFIGS = [(PROJECT / "tests" / "configs" / "frigate-full-example.yml").read_bytes(),
                (PROJECT / "examples" / "demo.yml").read_bytes()]
YAML_PIECES = [b"&a ", b"*a", b"<<: *a\n", b"<<: ", b"[", b"]", b"{", b"}", b"- ", b": ",
               b"\n  ", b"\n", b"\t", b"? ", b"|\n", b">-\n", b"'", b'"', b"#", b"%YAML 1.1\n",
               b"---\n", b"...\n", b"!!binary ", b"!!python/object:os.system ", b"\xff\xfe",
               b"\x00", b"~", b"1e400", b"0x", b"2024-13-01", b"9" * 5000, b"${", b"{FRIGATE_X}",
               b"? [a, b]\n: 1\n", b"[a, b]: 1", b"{a: 1}: 2", b"&b [*b]", b"&c {<<: *c}"]
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check_config(data: bytes, suffix: str) -> tuple[int, str]:
    """Exit code and stderr of `nvr check-config` on a file holding ``data``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"config{suffix}"
        path.write_bytes(data)
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            code = main(["check-config", "-c", str(path)])
        return code, errors.getvalue().replace(str(path), "FILE")


def assert_answered(code: int, errors: str) -> None:
    assert code in (0, EXIT_CONFIG), (code, errors)
    if code == EXIT_CONFIG:
        head, *problems = errors.splitlines()
        assert head.startswith("FILE: ") and head.endswith(" in the config"), errors
        assert problems and all(line.startswith("  ") for line in problems), errors
    assert "Traceback" not in errors


@FUZZ
@given(st.binary(max_size=4000), st.sampled_from([".yml", ".json"]))
def test_random_bytes(data: bytes, suffix: str) -> None:
    assert_answered(*check_config(data, suffix))


@st.composite
def mutated_config(draw: st.DrawFn) -> bytes:
    """A real config with a few bytes cut out and YAML's special pieces put in, mostly where
    a key or a value starts."""
    data = bytearray(draw(st.sampled_from(REAL_CONFIGS)))
    for _ in range(draw(st.integers(1, 6))):
        starts = [match.end() for match in re.finditer(rb": |\n *|- ", data)]
        start = draw(st.one_of(st.sampled_from(starts), st.integers(0, len(data))))
        end = min(len(data), start + draw(st.integers(0, 40)))
        piece = draw(st.one_of(st.sampled_from(YAML_PIECES), st.binary(max_size=8)))
        data[start:end] = piece
    return bytes(data)


@FUZZ
@given(mutated_config())
def test_mutated_real_configs(data: bytes) -> None:
    assert_answered(*check_config(data, ".yml"))
