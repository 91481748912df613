"""Config errors: every problem of a file as one line naming its key path."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError


class ConfigError(Exception):
    """The config file cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def report(self) -> str:
        """A message for the terminal: the file, then one line per problem."""
        count = len(self.problems)
        head = f"{self.source}: {count} problem{'s' if count != 1 else ''} in the config"
        return "\n".join([head, *(f"  {problem}" for problem in self.problems)])


def key_path(loc: Iterable[int | str]) -> str:
    """``('cameras', 'back', 'inputs', 0)`` -> ``cameras.back.inputs[0]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _choices(expected: str) -> str:
    return ", ".join(re.findall(r"'([^']*)'", expected))


_TYPE_NAMES = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "list": "a list",
    "dict": "a mapping",
    "model": "a mapping",
}


def describe(error: Mapping[str, Any]) -> str:
    """One pydantic error in words a user of the config file understands."""
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    base = kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_attributes")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "literal_error":
        return f"{value!r} is not one of {_choices(ctx['expected'])}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} may only contain letters, digits, '_' and '-'"
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} item(s)"
    bounds = {
        "greater_than": "greater than {gt}",
        "greater_than_equal": "at least {ge}",
        "less_than": "less than {lt}",
        "less_than_equal": "at most {le}",
    }
    if kind in bounds:
        return f"must be {bounds[kind].format(**ctx)}, got {value!r}"
    if base in _TYPE_NAMES and kind != base:
        return f"expected {_TYPE_NAMES[base]}, got {value!r}"
    return error["msg"]


def from_validation_error(source: str, error: ValidationError) -> ConfigError:
    """Turn every error pydantic found into one line each."""
    return ConfigError(
        source,
        (f"{key_path(item['loc'])}: {describe(item)}" for item in error.errors()),
    )
