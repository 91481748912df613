"""The configuration file's schema: one strict, closed pydantic model per block.

Keys and defaults follow Frigate 0.8 (docs/compatibility.md#configuration).
Fields that
a camera inherits from the global block are validated here with the same model on both
levels; `nvr.config.resolve` merges them using what the user actually wrote
(`model_fields_set`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from nvr.config.polygons import parse_mask, parse_zone_coordinates


class Block(BaseModel):
    """Base for every config block: unknown keys are errors, types are not coerced, and a key
    written with no value (``output_args:``, as Frigate's docs write them) is left unset: it
    takes its default or inherits, like a key not written at all."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):  # unknown keys stay, to be refused by name
            return {key: value for key, value in data.items()
                    if value is not None or key not in cls.model_fields}
        return data


def _ffmpeg_args(value: Any) -> list[str]:
    """Accept ffmpeg arguments as one space-separated string or a list of strings."""
    if isinstance(value, str):
        return [part for part in value.split(" ") if part]
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return [part for part in value if part]
    raise PydanticCustomError("ffmpeg_args", "expected a string or a list of strings")


def _polygon_check(parse):
    def check(value: Any) -> Any:
        parse(value)
        return value

    return check


FfmpegArgs = Annotated[list[str], PlainValidator(_ffmpeg_args)]
# Polygons keep the form the user wrote (string or list) because /api/config echoes it.
ZoneCoordinates = Annotated[str | list[str], PlainValidator(_polygon_check(parse_zone_coordinates))]
Mask = Annotated[str | list[str] | None, PlainValidator(_polygon_check(parse_mask))]
Role = Literal["detect", "clips", "record", "rtmp"]
LogLevel = Annotated[
    Literal["debug", "info", "warning", "error", "critical"],
    BeforeValidator(lambda value: value.lower() if isinstance(value, str) else value),
]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


MqttProtocol = Annotated[
    Literal["3.1.1", "5"],
    BeforeValidator(lambda value: str(value) if isinstance(value, int | float) else value),
]


def _topic_prefix(value: str) -> str:
    levels = value.split("/")
    if not all(levels) or any(char in value for char in "#+\x00"):
        raise PydanticCustomError(
            "topic_prefix", "'{value}' is not a topic prefix: no '#', '+' or empty levels",
            {"value": value})
    return value


TopicPrefix = Annotated[str, AfterValidator(_topic_prefix)]


def _origin(value: str) -> str:
    if not re.fullmatch(r"https?://[^/\s]+", value):
        raise PydanticCustomError(
            "origin", "'{value}' is not a web origin like http://host:8123 (no path)",
            {"value": value})
    return value


Origin = Annotated[str, AfterValidator(_origin)]


class MqttConfig(Block):
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    topic_prefix: TopicPrefix = "frigate"
    client_id: str = "frigate"
    stats_interval: PositiveInt = 60
    user: str | None = None
    password: str | None = None
    # Additions to Frigate 0.8's keys.
    protocol: MqttProtocol = "3.1.1"
    tls_ca_certs: str | None = None
    tls_client_cert: str | None = None
    tls_client_key: str | None = None
    tls_insecure: bool = False

    @model_validator(mode="after")
    def _client_cert_with_key(self) -> MqttConfig:
        if (self.tls_client_cert is None) != (self.tls_client_key is None):
            raise PydanticCustomError(
                "tls_pair", "tls_client_cert and tls_client_key go together: set both or neither")
        return self


class DetectorConfig(Block):
    type: Literal["cpu", "edgetpu", "onnx"] = "edgetpu"
    device: str = "usb"
    num_threads: PositiveInt = 3


class ModelConfig(Block):
    width: PositiveInt = 320
    height: PositiveInt = 320
    path: str | None = None
    labelmap_path: str | None = None


class DatabaseConfig(Block):
    path: str | None = None


class LoggerConfig(Block):
    default: LogLevel = "info"
    logs: dict[str, LogLevel] = {}


class WebConfig(Block):
    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=0, le=65535)] = 5000
    # Web pages of these origins may read the API (CORS); none by default.
    cors_origins: list[Origin] = []
    # Seconds an idle keep-alive connection stays open.
    keep_alive_timeout: Annotated[float, Field(gt=0, le=3600)] = 5.0
    # Open connections at most, in all and from one client address (past them: 503).
    max_connections: PositiveInt = 4096
    max_connections_per_client: PositiveInt = 256


class MediaConfig(Block):
    """Media folders, and the free space the disk guard keeps on their filesystems.

    The guard deletes the oldest recordings, then the oldest clips, of a filesystem whose
    free space is below ``min_free_mb`` MiB or below ``min_free_percent`` % of its size
    (the larger of the two floors wins; both 0 turn the guard off).
    """

    clips: str = "/media/frigate/clips"
    recordings: str = "/media/frigate/recordings"
    cache: str = "/tmp/cache"
    min_free_mb: NonNegativeInt = 1024
    min_free_percent: Annotated[float, Field(ge=0, le=90)] = 5.0


class RetainConfig(Block):
    default: NonNegativeInt = 10
    objects: dict[str, NonNegativeInt] = {}


class GlobalClipsConfig(Block):
    max_seconds: PositiveInt = 300
    tmpfs_cache_size: str = ""
    retain: RetainConfig = RetainConfig()


class GlobalSnapshotsConfig(Block):
    retain: RetainConfig = RetainConfig()


class RecordConfig(Block):
    enabled: bool = False
    retain_days: NonNegativeInt = 30


def _segment_args(seconds: int) -> list[str]:
    return [
        "-f", "segment", "-segment_time", str(seconds), "-segment_format", "mp4",
        "-reset_timestamps", "1", "-strftime", "1", "-c", "copy", "-an",
    ]


class OutputArgsConfig(Block):
    # YUV4MPEG instead of Frigate 0.8's rawvideo: its header states the frame size, so a
    # wrong width/height is caught at once instead of producing garbled frames.
    detect: FfmpegArgs = ["-f", "yuv4mpegpipe", "-pix_fmt", "yuv420p"]
    record: FfmpegArgs = _segment_args(60)
    clips: FfmpegArgs = _segment_args(10)
    rtmp: FfmpegArgs = ["-c", "copy", "-f", "flv"]


class FfmpegConfig(Block):
    """Global ffmpeg block; cameras and inputs may override the three ``*_args`` keys.

    `input_args` left unset means: the generic arguments of `nvr.config.ffmpeg`, plus
    the RTSP ones for `rtsp://` inputs (ffmpeg refuses RTSP options on other inputs).
    `path` (an nvr addition) names the ffmpeg binary: a file, or a name looked up on PATH.
    """

    path: str | None = None

    global_args: FfmpegArgs = ["-hide_banner", "-loglevel", "warning"]
    hwaccel_args: FfmpegArgs = []
    input_args: FfmpegArgs | None = None
    output_args: OutputArgsConfig = OutputArgsConfig()
    # Seconds without a frame after which the detect ffmpeg is restarted.
    stall_timeout: Annotated[float, Field(gt=0)] = 20.0


class FilterConfig(Block):
    min_area: NonNegativeInt = 0
    max_area: NonNegativeInt = 24_000_000
    threshold: Fraction = 0.7
    min_score: Fraction = 0.5
    mask: Mask = None


class ObjectsConfig(Block):
    track: list[str] = ["person"]
    mask: Mask = None
    filters: dict[str, FilterConfig] = {}


class MotionConfig(Block):
    mask: Mask = None
    threshold: Annotated[int, Field(ge=1, le=255)] = 25
    contour_area: NonNegativeInt = 100
    delta_alpha: Fraction = 0.2
    frame_alpha: Fraction = 0.2
    frame_height: PositiveInt | None = None


class DetectConfig(Block):
    enabled: bool = True
    max_disappeared: PositiveInt | None = None
    # Additions (nvr.tracking.tracker): seconds an object may be looked for and missed before
    # it is gone, and seconds between searches of a still object where nothing moves.
    empty_timeout: Annotated[float, Field(gt=0)] = 1.0
    stationary_interval: Annotated[float, Field(gt=0)] = 1.0


class CameraInputConfig(Block):
    path: str
    roles: list[Role]
    global_args: FfmpegArgs | None = None
    hwaccel_args: FfmpegArgs | None = None
    input_args: FfmpegArgs | None = None


class CameraFfmpegConfig(Block):
    inputs: Annotated[list[CameraInputConfig], Field(min_length=1)]
    global_args: FfmpegArgs | None = None
    hwaccel_args: FfmpegArgs | None = None
    input_args: FfmpegArgs | None = None
    output_args: OutputArgsConfig = OutputArgsConfig()

    @field_validator("inputs")
    @classmethod
    def _one_input_per_role(cls, inputs: list[CameraInputConfig]) -> list[CameraInputConfig]:
        roles = [role for camera_input in inputs for role in camera_input.roles]
        repeated = sorted({role for role in roles if roles.count(role) > 1})
        if repeated:
            raise PydanticCustomError(
                "duplicate_role",
                "each role may be used by one input only; repeated: {roles}",
                {"roles": ", ".join(repeated)},
            )
        if "detect" not in roles:
            raise PydanticCustomError("detect_role", "one input must have the detect role")
        return inputs


class ZoneFilterConfig(Block):
    min_area: NonNegativeInt = 0
    max_area: NonNegativeInt = 24_000_000
    threshold: Fraction = 0.7
    min_score: Fraction = 0.5


class ZoneConfig(Block):
    coordinates: ZoneCoordinates
    filters: dict[str, ZoneFilterConfig] = {}


class CameraClipsConfig(Block):
    enabled: bool = False
    pre_capture: NonNegativeInt = 5
    post_capture: NonNegativeInt = 5
    objects: list[str] | None = None
    required_zones: list[str] = []
    retain: RetainConfig = RetainConfig()


class CameraSnapshotsConfig(Block):
    enabled: bool = False
    timestamp: bool = False
    bounding_box: bool = False
    crop: bool = False
    height: PositiveInt | None = None
    required_zones: list[str] = []
    retain: RetainConfig = RetainConfig()


class CameraMqttConfig(Block):
    enabled: bool = True
    timestamp: bool = True
    bounding_box: bool = True
    crop: bool = True
    height: PositiveInt = 270
    required_zones: list[str] = []


class RtmpConfig(Block):
    """Kept for API compatibility; nvr runs no RTMP server, so the role feeds nothing."""

    enabled: bool = False


class CameraConfig(Block):
    ffmpeg: CameraFfmpegConfig
    width: PositiveInt
    height: PositiveInt
    fps: PositiveInt | None = None
    best_image_timeout: PositiveInt = 60
    zones: dict[str, ZoneConfig] = {}
    clips: CameraClipsConfig = CameraClipsConfig()
    record: RecordConfig = RecordConfig()
    rtmp: RtmpConfig = RtmpConfig()
    snapshots: CameraSnapshotsConfig = CameraSnapshotsConfig()
    mqtt: CameraMqttConfig = CameraMqttConfig()
    objects: ObjectsConfig = ObjectsConfig()
    motion: MotionConfig = MotionConfig()
    detect: DetectConfig = DetectConfig()


CameraName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]


class NvrConfig(Block):
    """The whole configuration file."""

    mqtt: MqttConfig | None = None
    detectors: dict[str, DetectorConfig] = {"coral": DetectorConfig()}
    model: ModelConfig = ModelConfig()
    database: DatabaseConfig = DatabaseConfig()
    logger: LoggerConfig = LoggerConfig()
    web: WebConfig = WebConfig()
    media: MediaConfig = MediaConfig()
    clips: GlobalClipsConfig = GlobalClipsConfig()
    snapshots: GlobalSnapshotsConfig = GlobalSnapshotsConfig()
    record: RecordConfig = RecordConfig()
    ffmpeg: FfmpegConfig = FfmpegConfig()
    objects: ObjectsConfig = ObjectsConfig()
    motion: MotionConfig = MotionConfig()
    detect: DetectConfig = DetectConfig()
    cameras: Annotated[dict[CameraName, CameraConfig], Field(min_length=1)]
    environment_vars: dict[str, str] = {}
