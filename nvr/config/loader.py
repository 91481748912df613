"""Read a config file (YAML or JSON) into a validated, resolved NvrConfig."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nvr.config.document import MAX_CONFIG_BYTES, decode_text, parse_text
from nvr.config.errors import ConfigError, from_validation_error
from nvr.config.resolve import resolve
from nvr.config.schema import NvrConfig

YAML_SUFFIXES = (".yml", ".yaml")
HOW_TO_GIVE_A_CONFIG = ("give the config file with -c FILE, or name it in $NVR_CONFIG or "
                        "$CONFIG_FILE")


def validate(document: Any, source: str) -> NvrConfig:
    """Validate a parsed document against the schema (not yet resolved)."""
    if not isinstance(document, dict):
        raise ConfigError(source, ["(top level): expected a mapping of config keys"])
    try:
        return NvrConfig.model_validate(document)
    except ValidationError as error:
        raise from_validation_error(source, error) from None


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> NvrConfig:
    """Load, validate and resolve the config file at ``path``.

    Raises ConfigError listing every problem found, each naming its key path.
    """
    path = Path(path)
    source = str(path)
    if path.suffix not in (*YAML_SUFFIXES, ".json"):
        problem = f"unsupported file type {path.suffix!r}: use .yml, .yaml or .json"
        raise ConfigError(source, [problem])
    try:
        with path.open("rb") as file:
            text = decode_text(file.read(MAX_CONFIG_BYTES + 1), source)
    except FileNotFoundError:
        raise ConfigError(source, [f"no such file; {HOW_TO_GIVE_A_CONFIG}"]) from None
    except OSError as error:
        raise ConfigError(source, [f"cannot read the file: {error.strerror}"]) from None
    config = validate(parse_text(text, source, path.suffix), source)
    return resolve(config, source, path.resolve().parent,
                   os.environ if environ is None else environ)
