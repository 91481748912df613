"""A bad config names each problem's key path in one line and stops with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from nvr.cli import EXIT_CONFIG, main
from nvr.config import load_config
from nvr.config.document import MAX_CONFIG_BYTES
from support import SSD, shared_file

CAMERA = """
cameras:
  back:
    ffmpeg:
      inputs:
        - path: {path}
          roles: {roles}
    width: 1280
    height: 720
{extra}
"""


def camera(path: str = "rtsp://127.0.0.1/live", roles: str = "[detect]", extra: str = "") -> str:
    return CAMERA.format(path=path, roles=roles, extra=extra)


CASES = {
    "missing required key": (
        "cameras:\n  back:\n    ffmpeg: {inputs: [{path: /v.mp4, roles: [detect]}]}\n"
        "    height: 720\n",
        "cameras.back.width: required key is missing",
    ),
    "unknown key": (
        camera(extra="    foo: 1"),
        "cameras.back.foo: unknown key",
    ),
    "wrong type": (
        "mqtt: {host: broker, port: abc}\n" + camera(),
        "mqtt.port: expected an integer, got 'abc'",
    ),
    "wrong type (bool)": (
        camera(extra="    clips: {enabled: 1}"),
        "cameras.back.clips.enabled: expected true or false, got 1",
    ),
    "out of range": (
        "motion: {threshold: 300}\n" + camera(),
        "motion.threshold: must be at most 255, got 300",
    ),
    "bad role": (
        camera(roles="[detect, recrod]"),
        "cameras.back.ffmpeg.inputs[0].roles[1]: 'recrod' is not one of detect, clips, "
        "record, rtmp",
    ),
    "duplicate role": (
        camera().replace(
            "roles: [detect]", "roles: [detect, clips]\n        - {path: /b, roles: [clips]}"
        ),
        "cameras.back.ffmpeg.inputs: each role may be used by one input only; repeated: clips",
    ),
    "missing detect role": (
        camera(roles="[record]"),
        "cameras.back.ffmpeg.inputs: one input must have the detect role",
    ),
    "zone named like a camera": (
        camera(extra="    zones: {back: {coordinates: '0,0,10,0,10,10'}}"),
        "cameras.back.zones.back: zone name 'back' is also a camera name",
    ),
    "undefined environment variable": (
        camera(path="'rtsp://admin:{FRIGATE_NOPE}@127.0.0.1/live'"),
        "cameras.back.ffmpeg.inputs[0].path: environment variable FRIGATE_NOPE is not set",
    ),
    "bad polygon": (
        camera(extra="    motion: {mask: '0,0,10,0,10'}"),
        "cameras.back.motion.mask: polygon '0,0,10,0,10' has an odd number of values",
    ),
    "bad detector type": (
        "detectors: {tpu: {type: gpu}}\n" + camera(),
        "detectors.tpu.type: 'gpu' is not one of cpu, edgetpu, onnx",
    ),
    "reserved camera name": (
        camera().replace("back:", "stats:"),
        "cameras.stats: 'stats' is reserved by the API (/api/stats)",
    ),
    "camera name unsafe in file names": (
        camera().replace("back:", "'back/door':"),
        "cameras.back/door: 'back/door' may only contain letters, digits, '_' and '-'",
    ),
    "required zone that does not exist": (
        camera(extra="    snapshots: {required_zones: [porch]}"),
        "cameras.back.snapshots.required_zones[0]: no zone named 'porch' on this camera",
    ),
    "YAML syntax error": (
        "cameras:\n  back:\n    width: 1280\n   height: 720\n",
        "line 4, column 4: YAML syntax error: expected <block end>, "
        "but found '<block mapping start>'",
    ),
    "key written twice": (
        camera(extra="    width: 640"),
        "line 10, column 5: YAML syntax error: key 'width' appears twice",
    ),
    "not a mapping": ("- a\n- b\n", "(top level): expected a mapping of config keys"),
    "a key that is a list": (
        "cameras:\n  ? [back, front]\n  : {width: 1}\n",
        "line 2, column 5: YAML syntax error: a key must be a plain value, not a list or "
        "mapping",
    ),
    "an alias bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n"
                  for a, b in zip("abcdefg", "bcdefgh", strict=True))
        + "cameras: *h\n",
        "its aliases expand to over 1000000 values",
    ),
    "nested too deeply": ("cameras: " + "[" * 20_000 + "]" * 20_000 + "\n",
                          "nested too deeply to be a config"),
    "a number too long to read": (
        camera().replace("1280", "1" * 5000),
        "a value cannot be read: Exceeds the limit (4300 digits) for integer string "
        "conversion: value has 5000 digits",
    ),
    "a date that is not one": (
        camera(extra="    when: 2024-13-01"),
        "a value cannot be read: month must be in 1..12",
    ),
    "a control character": (
        "cameras:\x07\n",
        'YAML syntax error: unacceptable character #x0007: special characters are not '
        'allowed in "<unicode string>", position 8',
    ),
    "a CORS origin that is not one": (
        "web: {cors_origins: ['http://127.0.0.1:8123/lovelace']}\n" + camera(),
        "web.cors_origins[0]: 'http://127.0.0.1:8123/lovelace' is not a web origin like "
        "http://host:8123 (no path)",
    ),
    "a zone that cannot be an MQTT topic": (
        "mqtt: {host: 127.0.0.1}\n"
        + camera(extra="    zones: {'front+back': {coordinates: '0,0,10,0,10,10'}}"),
        "cameras.back.zones.front+back: 'front+back' cannot be part of an MQTT topic "
        "(no '+', '#' or '/')",
    ),
    "a camera named like an API route": (
        camera().replace("  back:", "  logs:"),
        "cameras.logs: 'logs' is reserved by the API (/api/logs)",
    ),
    "mqtt client certificate without its key": (
        "mqtt: {host: 127.0.0.1, tls_client_cert: c.crt}\n" + camera(),
        "mqtt: tls_client_cert and tls_client_key go together: set both or neither",
    ),
    "mqtt certificate authority missing": (
        "mqtt: {host: 127.0.0.1, tls_ca_certs: /nonexistent/ca.crt}\n" + camera(),
        "mqtt.tls_ca_certs: no file at /nonexistent/ca.crt",
    ),
    "mqtt protocol": (
        "mqtt: {host: 127.0.0.1, protocol: 4}\n" + camera(),
        "mqtt.protocol: '4' is not one of 3.1.1, 5",
    ),
    "mqtt topic prefix with a wildcard": (
        "mqtt: {host: 127.0.0.1, topic_prefix: 'home/#'}\n" + camera(),
        "mqtt.topic_prefix: 'home/#' is not a topic prefix: no '#', '+' or empty levels",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_error_class_is_one_line_with_exit_code_2(
    case: str, write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = CASES[case]
    path = write_config(text)

    assert main(["check-config", "-c", str(path)]) == EXIT_CONFIG

    err = capsys.readouterr().err.splitlines()
    assert err == [f"{path}: 1 problem in the config", f"  {expected}"]


def test_all_errors_of_a_file_are_reported_together(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        "mqtt: {port: 0}\nmotion: {threshold: 0}\n"
        + camera(roles="[detect, recrod]", extra="    fps: x")
    )
    assert main(["check-config", "-c", str(path)]) == EXIT_CONFIG
    assert capsys.readouterr().err.splitlines()[1:] == [
        "  mqtt.host: required key is missing",
        "  mqtt.port: must be at least 1, got 0",
        "  motion.threshold: must be at least 1, got 0",
        "  cameras.back.ffmpeg.inputs[0].roles[1]: "
        "'recrod' is not one of detect, clips, record, rtmp",
        "  cameras.back.fps: expected an integer, got 'x'",
    ]


def test_missing_file_and_unsupported_extension(
    tmp_path: Path, write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "-c", str(tmp_path / "nope.yml")]) == EXIT_CONFIG
    message = capsys.readouterr().err.splitlines()[1]
    assert message == ("  no such file; give the config file with -c FILE, or name it in "
                       "$NVR_CONFIG or $CONFIG_FILE")
    not_text = tmp_path / "binary.yml"
    not_text.write_bytes(b"cameras:\n  \xff\xfe: 1\n")
    assert main(["check-config", "-c", str(not_text)]) == EXIT_CONFIG
    assert "not UTF-8 text: byte 0xff at offset 11" in capsys.readouterr().err
    path = write_config(camera(), "config.ini")
    assert main(["check-config", "-c", str(path)]) == EXIT_CONFIG
    assert "unsupported file type '.ini': use .yml, .yaml or .json" in capsys.readouterr().err


def test_json_nested_too_deeply_and_a_file_too_large(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    nested = write_config('{"cameras": ' + "[" * 20_000 + "]" * 20_000 + "}", "config.json")
    assert main(["check-config", "-c", str(nested)]) == EXIT_CONFIG
    assert capsys.readouterr().err.splitlines()[1:] == ["  nested too deeply to be a config"]
    huge = write_config(camera() + "# " + "x" * MAX_CONFIG_BYTES + "\n")
    assert main(["check-config", "-c", str(huge)]) == EXIT_CONFIG
    assert capsys.readouterr().err.splitlines()[1:] == [
        "  larger than 4 MiB: not a config file"]


def test_anchors_and_merge_keys_work_and_the_mappings_own_keys_win(
    write_config: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(f"""
        cameras:
          back: &camera
            ffmpeg: {{inputs: [{{path: rtsp://127.0.0.1/back, roles: [detect]}}]}}
            width: 1280
            height: 720
          front:
            <<: *camera
            ffmpeg: {{inputs: [{{path: rtsp://127.0.0.1/front, roles: [detect]}}]}}
            width: 640
        {media_in(tmp_path)}""")
    assert main(["check-config", "-c", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "rtsp://127.0.0.1/front" in printed
    config = load_config(path, {})
    assert (config.cameras["front"].width, config.cameras["front"].height) == (640, 720)


def test_real_process_exits_2_without_traceback(write_config: Callable[..., Path]) -> None:
    path = write_config(camera(roles="[detect, recrod]"))
    for command in ("run", "check-config"):
        result = subprocess.run(
            [sys.executable, "-m", "nvr", command, "-c", str(path)],
            capture_output=True, text=True, cwd=path.parent, timeout=60,
        )
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert "'recrod' is not one of detect, clips, record, rtmp" in result.stderr


def test_config_path_from_environment(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    good = write_config(camera(), "good.yml")
    run = lambda env: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "nvr", "check-config"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, env=env,
    )
    base = {"PATH": "/usr/bin:/bin"}
    assert run({**base, "NVR_CONFIG": str(good), "CONFIG_FILE": "/nope.yml"}).returncode == 0
    assert run({**base, "CONFIG_FILE": str(good)}).returncode == 0
    missing = run(base)
    assert missing.returncode == 2 and "config.yml: 1 problem" in missing.stderr
    (tmp_path / "config.yml").write_text(camera())
    result = run(base)
    assert result.returncode == 0 and "ffmpeg_cmds:" in result.stdout


def media_in(folder: Path) -> str:
    return (f"media: {{clips: {folder}/clips, recordings: {folder}/rec, "
            f"cache: {folder}/cache}}\n")


def test_check_config_checks_what_run_checks_short_of_cameras(
    write_config: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The model file, the model's input size and the media folders, as `nvr run` would."""
    ssd = shared_file(SSD).resolve()
    cases = {
        f"model: {{path: {tmp_path}/none.tflite}}\n":
            f"  model.path: no detector model at {tmp_path}/none.tflite; check model.path "
            "(without it nvr uses the default SSD model it ships)",
        f"model: {{path: {ssd}, width: 320, height: 320}}\n":
            f"  model.width/model.height: 320x320, but {ssd} takes 300x300 input; "
            "set model.width: 300 and model.height: 300",
    }
    (tmp_path / "a-file").write_text("")
    cases[media_in(tmp_path / "a-file")] = (
        f"  media.clips: cannot create {tmp_path}/a-file/clips: Not a directory")
    for extra, problem in cases.items():
        media = "" if extra.startswith("media") else media_in(tmp_path)
        path = write_config(camera() + extra + media)
        assert main(["check-config", "-c", str(path)]) == EXIT_CONFIG, extra
        assert problem in capsys.readouterr().err.splitlines(), extra
        assert not (tmp_path / "clips").exists()  # a check creates nothing


def test_frigates_default_model_size_is_ignored_without_a_model_path(
    write_config: Callable[..., Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(camera() + "model: {width: 320, height: 320}\n" + media_in(tmp_path))
    assert main(["check-config", "-c", str(path)]) == 0
    assert caplog.messages == [
        "model.width/model.height: 320x320 ignored: nvr's default model takes 300x300 "
        "(set model.path to use a model of another size)"]
