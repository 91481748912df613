"""Configuration: the file format of Frigate 0.8, validated and resolved."""

from nvr.config.errors import ConfigError
from nvr.config.loader import load_config
from nvr.config.resolve import config_warnings
from nvr.config.schema import CameraConfig, NvrConfig

__all__ = ["CameraConfig", "ConfigError", "NvrConfig", "config_warnings", "load_config"]
