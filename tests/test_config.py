"""Loading and resolving config files: defaults, inheritance, substitution."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from nvr.config import ConfigError, config_warnings, load_config
from nvr.config.ffmpeg import camera_commands, ffmpeg_executable
from nvr.config.secrets import Redactor, redact
from nvr.config.view import config_view
from nvr.data import DEMO_IMAGE
from support import MINIMAL_CAMERA

# The camera object of Frigate 0.8's /api/config, resolved from the same minimal config
# (one 1280x720 camera `back`, fps 5, roles detect+rtmp, one zone `yard`).
REFERENCE_CAMERA = json.loads("""
{"name":"back","height":720,"width":1280,"fps":5,"best_image_timeout":60,
"zones":{"yard":{"filters":{},"coordinates":"0,0,100,0,100,100"}},
"clips":{"enabled":false,"pre_capture":5,"post_capture":5,"objects":null,
"retain":{"default":10,"objects":{}},"required_zones":[]},
"record":{"enabled":false,"retain_days":30},"rtmp":{"enabled":true},
"snapshots":{"enabled":false,"timestamp":false,"bounding_box":false,"crop":false,
"height":null,"retain":{"default":10,"objects":{}},"required_zones":[]},
"mqtt":{"enabled":true,"timestamp":true,"bounding_box":true,"crop":true,"height":270,
"required_zones":[]},"objects":{"track":["person"],"mask":null,"filters":{"person":
{"min_area":0,"max_area":24000000,"threshold":0.7,"min_score":0.5,"mask":[]}}},
"motion":{"mask":null,"threshold":25,"contour_area":100,"delta_alpha":0.2,
"frame_alpha":0.2,"frame_height":120},"detect":{"enabled":true,"max_disappeared":25},
"frame_shape":[720,1280]}
""")

REFERENCE_SAMPLE = MINIMAL_CAMERA + """
    zones:
      yard:
        coordinates: 0,0,100,0,100,100
"""


def test_minimal_config_resolves_to_reference_defaults(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(REFERENCE_SAMPLE), {})
    view = config_view(config, Redactor.of(config, {}))

    camera = view["cameras"]["back"]
    commands = camera.pop("ffmpeg_cmds")
    # Deliberate differences: nvr runs no RTMP server, so rtmp is off unless asked for; and
    # detect has two keys of nvr's own (nvr.tracking.tracker).
    assert camera == {**REFERENCE_CAMERA, "rtmp": {"enabled": False}, "detect": {
        **REFERENCE_CAMERA["detect"], "empty_timeout": 1.0, "stationary_interval": 1.0}}
    # The detect input of a stream up to 1440p is decoded on one thread (nvr.config.ffmpeg).
    assert commands == [{
        "roles": ["detect", "rtmp"],
        "cmd": f"{ffmpeg_executable()} -hide_banner -loglevel warning -avoid_negative_ts "
               "make_zero -fflags +genpts+discardcorrupt -use_wallclock_as_timestamps 1 "
               "-rtsp_transport tcp -timeout 5000000 -threads 1 -i rtsp://127.0.0.1:554/video "
               "-r 5 -f yuv4mpegpipe -pix_fmt yuv420p pipe:",
    }]
    assert view["clips"] == {"max_seconds": 300, "tmpfs_cache_size": "",
                             "retain": {"default": 10, "objects": {}}}
    assert view["snapshots"] == {"retain": {"default": 10, "objects": {}}}
    assert view["detectors"] == {"coral": {"type": "edgetpu", "device": "usb", "num_threads": 3}}
    assert view["model"]["width"] == view["model"]["height"] == 320
    assert view["logger"] == {"default": "INFO", "logs": {}}
    assert view["database"] == {"path": "/media/frigate/clips/frigate.db"}
    # mqtt is optional; clients read topic_prefix and client_id, so they are always there.
    assert view["mqtt"] == {"host": None, "port": 1883, "topic_prefix": "frigate",
                            "client_id": "frigate", "stats_interval": 60, "user": None,
                            "protocol": "3.1.1", "tls_ca_certs": None, "tls_client_cert": None,
                            "tls_client_key": None, "tls_insecure": False}


def test_full_reference_style_config(write_config: Callable[..., Path]) -> None:
    path = write_config("""
        mqtt:
          host: 127.0.0.1
          user: nvr
          password: secret
        detectors:
          cpu1: {type: cpu, num_threads: 2}
        logger:
          default: WARNING
          logs: {nvr.http: debug}
        record: {enabled: true, retain_days: 7}
        clips:
          max_seconds: 120
          retain: {default: 30, objects: {person: 60}}
        snapshots:
          retain: {default: 3}
        objects:
          track: [person, dog]
          filters:
            person: {min_score: 0.6, min_area: 5000}
            dog: {threshold: 0.8}
        motion: {threshold: 40, contour_area: 50}
        detect: {max_disappeared: 12}
        ffmpeg:
          global_args: -hide_banner -loglevel error
          input_args: [-re]
        cameras:
          front:
            ffmpeg:
              input_args: -rtsp_transport udp
              inputs:
                - path: rtsp://127.0.0.1/main
                  roles: [clips, record]
                  global_args: -loglevel info
                - path: rtsp://127.0.0.1/sub
                  roles: [detect]
            width: 640
            height: 480
            clips:
              enabled: true
              retain: {objects: {dog: 2}}
            snapshots: {enabled: true, retain: {default: 5}}
            record: {retain_days: 3}
            objects:
              track: [person, car]
              mask: 0,0,10,0,10,10
              filters:
                person: {min_area: 9000, mask: ["1,1,5,1,5,5"]}
            motion: {threshold: 30, mask: ["0,0,5,0,5,5"]}
          garage:
            ffmpeg:
              output_args: {detect: -f rawvideo -pix_fmt gray}
              inputs:
                - path: /videos/garage.mp4
                  roles: [detect]
            width: 1920
            height: 1080
            fps: 4
            detect: {max_disappeared: 3}
    """)
    config = load_config(path, {})
    front, garage = config.cameras["front"], config.cameras["garage"]

    # Per-key inheritance: camera wins, then global, then default.
    assert front.motion.threshold == 30 and front.motion.contour_area == 50
    assert garage.motion.threshold == 40
    assert front.motion.frame_height == 480 // 6 and garage.motion.frame_height == 180
    assert front.objects.track == ["person", "car"] and garage.objects.track == ["person", "dog"]
    person = front.objects.filters["person"]
    assert (person.min_area, person.min_score, person.threshold) == (9000, 0.6, 0.7)
    assert front.objects.filters["car"].min_score == 0.5
    assert garage.objects.filters["dog"].threshold == 0.8
    assert front.objects.mask == "0,0,10,0,10,10" and garage.objects.mask is None
    assert (front.detect.max_disappeared, garage.detect.max_disappeared) == (12, 3)
    assert (front.record.enabled, front.record.retain_days) == (True, 3)
    assert garage.record.retain_days == 7
    # Retention: per-object map and default each inherit unless the camera sets them.
    assert front.clips.retain.model_dump() == {"default": 30, "objects": {"dog": 2}}
    assert garage.clips.retain.model_dump() == {"default": 30, "objects": {"person": 60}}
    assert front.snapshots.retain.default == 5 and garage.snapshots.retain.default == 3

    # ffmpeg: args input -> camera -> global; a camera's output_args replace the global block.
    main, sub = front.ffmpeg.inputs
    assert main.global_args == ["-loglevel", "info"]
    assert sub.global_args == ["-hide_banner", "-loglevel", "error"]
    assert main.input_args == sub.input_args == ["-rtsp_transport", "udp"]
    assert garage.ffmpeg.inputs[0].input_args == ["-re"]
    record_cmd, detect_cmd = camera_commands("front", front, config.media)
    assert record_cmd.roles == ("clips", "record")
    assert record_cmd.argv[-1] == "/tmp/cache/front-%Y%m%d%H%M%S.mp4"
    assert "/media/frigate/recordings/front-%Y%m%d%H%M%S.mp4" in record_cmd.argv
    assert record_cmd.argv.index("-segment_time") < record_cmd.argv.index("60")
    assert detect_cmd.argv[-5:] == ("-f", "yuv4mpegpipe", "-pix_fmt", "yuv420p", "pipe:")
    [garage_cmd] = camera_commands("garage", garage, config.media)
    assert garage_cmd.argv[-7:] == ("-r", "4", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:")

    view = config_view(config, Redactor.of(config, {}))
    assert view["logger"] == {"default": "WARNING", "logs": {"nvr.http": "DEBUG"}}
    assert "password" not in view["mqtt"] and view["mqtt"]["user"] == "nvr"
    assert view["cameras"]["front"]["objects"]["filters"]["person"]["mask"] == ["1,1,5,1,5,5"]
    assert view["cameras"]["front"]["motion"]["mask"] == ["0,0,5,0,5,5"]


def test_environment_substitution(write_config: Callable[..., Path]) -> None:
    path = write_config("""
        mqtt: {host: 127.0.0.1, password: "{FRIGATE_MQTT_PASSWORD}"}
        environment_vars: {FRIGATE_USER: from-config}
        cameras:
          back:
            ffmpeg:
              inputs:
                - path: "rtsp://{FRIGATE_USER}:{FRIGATE_RTSP_PASSWORD}@127.0.0.1/{not_env}"
                  roles: [detect]
            width: 640
            height: 480
    """)
    environ = {"FRIGATE_RTSP_PASSWORD": "p4ss", "FRIGATE_MQTT_PASSWORD": "mq", "HOME": "/x"}
    config = load_config(path, environ)

    assert config.cameras["back"].ffmpeg.inputs[0].path == "rtsp://from-config:p4ss@127.0.0.1/{not_env}"
    assert config.mqtt is not None and config.mqtt.password == "mq"
    commands = config_view(config, Redactor.of(config, environ))["cameras"]["back"]["ffmpeg_cmds"]
    assert "p4ss" not in json.dumps(commands) and "rtsp://*****@127.0.0.1/" in commands[0]["cmd"]


def test_relative_paths_are_taken_from_the_config_folder(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_config(MINIMAL_CAMERA + """
media: {clips: media/clips, recordings: media/rec, cache: cache}
model: {path: models/ssd.tflite}
""")
    config = load_config(path, {})
    assert config.media.clips == str(tmp_path / "media" / "clips")
    assert config.database.path == str(tmp_path / "media" / "clips" / "frigate.db")
    assert config.model.path == str(tmp_path / "models" / "ssd.tflite")


def test_nvr_data_placeholder_names_the_shipped_files(write_config: Callable[..., Path]) -> None:
    path = write_config("""
        cameras:
          demo:
            ffmpeg:
              inputs:
                - path: "movie='{NVR_DATA}/grace_hopper.png'"
                  input_args: -f lavfi
                  roles: [detect]
            width: 640
            height: 480
    """)
    [camera_input] = load_config(path, {}).cameras["demo"].ffmpeg.inputs
    assert camera_input.path == f"movie='{DEMO_IMAGE}'"
    assert DEMO_IMAGE.is_file()


def test_the_demo_config_runs_the_shipped_photo_with_clips_and_snapshots() -> None:
    config = load_config(Path(__file__).parents[1] / "examples" / "demo.yml", {})
    demo = config.cameras["demo"]
    [command] = camera_commands("demo", demo, config.media)
    assert command.roles == ("detect", "clips")
    assert f"movie='{DEMO_IMAGE}'" in command.line and "-c:v libx264" in command.line
    assert demo.clips.enabled and demo.snapshots.enabled and list(demo.zones) == ["left_half"]
    assert config.model.path is None  # the shipped reference model


def test_ffmpeg_path_is_a_file_from_the_config_folder_or_a_name_on_path(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    binary = tmp_path / "bin" / "ffmpeg"
    binary.parent.mkdir()
    binary.symlink_to(ffmpeg_executable())
    config = load_config(write_config(MINIMAL_CAMERA + "ffmpeg: {path: bin/ffmpeg}\n"), {})
    assert config.ffmpeg.path == str(binary)
    on_path = load_config(write_config(MINIMAL_CAMERA + "ffmpeg: {path: sh}\n"), {})
    assert on_path.ffmpeg.path == shutil.which("sh")
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(MINIMAL_CAMERA + "ffmpeg: {path: nowhere/ffmpeg}\n"), {})
    assert caught.value.problems == ["ffmpeg.path: no executable ffmpeg at nowhere/ffmpeg"]


def test_json_and_yaml_extensions(write_config: Callable[..., Path]) -> None:
    document = {"cameras": {"back": {
        "ffmpeg": {"inputs": [{"path": "/v.mp4", "roles": ["detect"]}]},
        "width": 320, "height": 240,
    }}}
    from_json = load_config(write_config(json.dumps(document), "config.json"), {})
    from_yaml = load_config(write_config(json.dumps(document), "config.yaml"), {})
    assert from_json == from_yaml
    assert from_json.cameras["back"].motion.frame_height == 40


def test_config_warnings(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config("""
        cameras:
          back:
            ffmpeg:
              inputs: [{path: /v.mp4, roles: [detect, record, rtmp]}]
            width: 320
            height: 240
            clips: {enabled: true}
    """), {})
    assert config_warnings(config) == [
        "cameras.back: an input has the record role but record is disabled",
        "cameras.back: clips is enabled but no input has that role",
        "ignored (nvr runs no RTMP server and caches segments in media.cache): "
        "cameras.back.ffmpeg.inputs[0].roles: rtmp",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("rtsp://admin:hunter2@127.0.0.1:554/live", "rtsp://*****@127.0.0.1:554/live"),
    ("http://127.0.0.1/snap.cgi?user=admin&password=hunter2&ch=1",
     "http://127.0.0.1/snap.cgi?user=*****&password=*****&ch=1"),
    ("rtsp://127.0.0.1/live", "rtsp://127.0.0.1/live"),
    ("-i rtsp://u:p@a/x -f rawvideo pipe:", "-i rtsp://*****@a/x -f rawvideo pipe:"),
    # ffmpeg splits user info at the last @.
    ("rtsp://admin:S3cr@t@127.0.0.1/x", "rtsp://*****@127.0.0.1/x"),
    ("http://127.0.0.1/a?pw=x1&api_key=y2&ch=1", "http://127.0.0.1/a?pw=*****&api_key=*****&ch=1"),
    ("-headers 'Authorization: Basic Zm9vOmJhcg=='", "-headers 'Authorization: *****'"),
    ("Cookie: session=abc", "Cookie: *****"),
])
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_config_error_is_an_exception_with_every_line(write_config: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write_config("cameras: {}\nfoo: 1\n"), {})
    assert raised.value.problems == ["cameras: needs at least 1 item(s)", "foo: unknown key"]


def test_frigate_docs_full_example_loads_with_its_empty_blocks() -> None:
    config = load_config(Path(__file__).parent / "configs" / "frigate-full-example.yml",
                         {"FRIGATE_RTSP_PASSWORD": "secret"})
    back = config.cameras["back"]
    # The empty input, camera and output blocks inherit, as the docs' comments say.
    assert back.ffmpeg.output_args == config.ffmpeg.output_args
    assert back.ffmpeg.output_args.detect == ["-f", "rawvideo", "-pix_fmt", "yuv420p"]
    [camera_input] = back.ffmpeg.inputs
    assert camera_input.global_args == ["-hide_banner", "-loglevel", "warning"]
    assert camera_input.hwaccel_args == []
    assert "-rtsp_transport" in camera_input.input_args
    assert back.detect.max_disappeared == 25
    assert config_warnings(config) == [
        "ignored (nvr runs no RTMP server and caches segments in media.cache): "
        "clips.tmpfs_cache_size, ffmpeg.output_args.rtmp, "
        "cameras.back.ffmpeg.inputs[0].roles: rtmp, cameras.back.rtmp.enabled",
    ]


def test_an_empty_value_is_a_key_not_written(write_config: Callable[..., Path]) -> None:
    written = load_config(write_config(MINIMAL_CAMERA + (
        "detect:\n  enabled:\n  max_disappeared:\nsnapshots:\nobjects:\n  track:\n")), {})
    assert written == load_config(write_config(MINIMAL_CAMERA), {})


def test_an_unknown_key_is_refused_with_or_without_a_value(
        write_config: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(MINIMAL_CAMERA + "detect:\n  enabeld:\ntypo_top:\n"), {})
    assert caught.value.problems == ["detect.enabeld: unknown key", "typo_top: unknown key"]
