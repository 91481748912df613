"""Config text (YAML or JSON) into a plain document, whatever the bytes: every way a file can
be unusable is a ConfigError naming the problem, never an exception from the parser."""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

import yaml

from nvr.config.errors import ConfigError

MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""Largest config file read; a config of a hundred cameras is a few hundred kilobytes."""
MAX_EXPANDED_NODES = 1_000_000
"""Most YAML nodes a document may hold once its aliases are expanded: anchors and merge keys
are fine, an alias bomb (a few lines that expand to billions of values) is refused."""
MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key written twice in one mapping and keys that are
    not plain values; merge keys (``<<: *anchor``) merge as usual."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue  # merged keys may be overridden by the mapping's own
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain value, not a list or mapping",
                    key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def expanded_size(node: yaml.Node) -> int:
    """How many nodes ``node`` stands for once every alias is expanded (each shared node is
    measured once, so this is quick even for an alias bomb)."""
    sizes: dict[int, int] = {}

    def size(current: yaml.Node) -> int:
        known = sizes.get(id(current))
        if known is not None:
            return known
        sizes[id(current)] = 1  # an alias cycle counts once instead of looping
        total = 1
        if isinstance(current, yaml.SequenceNode):
            total += sum(size(child) for child in current.value)
        elif isinstance(current, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in current.value)
        sizes[id(current)] = total
        return total

    return size(node)


def _yaml_document(text: str, source: str) -> Any:
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if expanded_size(node) > MAX_EXPANDED_NODES:
            problem = f"its aliases expand to over {MAX_EXPANDED_NODES} values"
            raise ConfigError(source, [problem])
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_text(text: str, source: str, suffix: str) -> Any:
    """The document in ``text``; syntax errors name their line."""
    try:
        if suffix == ".json":
            try:
                return json.loads(text)
            except json.JSONDecodeError as error:
                problem = f"line {error.lineno}: JSON syntax error: {error.msg}"
                raise ConfigError(source, [problem]) from None
        try:
            return _yaml_document(text, source)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            raise ConfigError(source, [f"{where}YAML syntax error: {error.problem}"]) from None
        except yaml.YAMLError as error:
            problem = " ".join(str(error).split())  # a reader error spans two lines
            raise ConfigError(source, [f"YAML syntax error: {problem}"]) from None
    except RecursionError:
        raise ConfigError(source, ["nested too deeply to be a config"]) from None
    except ValueError as error:  # a value the parser cannot convert: a date, a huge integer
        reason = str(error).split(";")[0]  # not Python's advice on raising its limits
        raise ConfigError(source, [f"a value cannot be read: {reason}"]) from None


def decode_text(data: bytes, source: str) -> str:
    """The text of a config file's bytes (read up to ``MAX_CONFIG_BYTES + 1`` of them)."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(source, [f"larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB: "
                                   "not a config file"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        raise ConfigError(source, [f"not UTF-8 text: byte 0x{byte:02x} at offset "
                                   f"{error.start}"]) from None
