"""Read a config file (YAML or JSON) into a validated, resolved NvrConfig."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nvr.config.errors import ConfigError, from_validation_error
from nvr.config.resolve import resolve
from nvr.config.schema import NvrConfig

YAML_SUFFIXES = (".yml", ".yaml")
HOW_TO_GIVE_A_CONFIG = ("give the config file with -c FILE, or name it in $NVR_CONFIG or "
                        "$CONFIG_FILE")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_text(text: str, source: str, suffix: str) -> Any:
    """The document in ``text``; syntax errors name their line."""
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            problem = f"line {error.lineno}: JSON syntax error: {error.msg}"
            raise ConfigError(source, [problem]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(source, [f"{where}YAML syntax error: {error.problem}"]) from None
    except yaml.YAMLError as error:
        raise ConfigError(source, [f"YAML syntax error: {error}"]) from None


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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [f"no such file; {HOW_TO_GIVE_A_CONFIG}"]) from None
    except OSError as error:
        raise ConfigError(source, [f"cannot read the file: {error.strerror}"]) from None
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        raise ConfigError(source, [f"not UTF-8 text: byte 0x{byte:02x} at offset "
                                   f"{error.start}"]) from None
    config = validate(parse_text(text, source, path.suffix), source)
    return resolve(config, source, path.resolve().parent,
                   os.environ if environ is None else environ)
