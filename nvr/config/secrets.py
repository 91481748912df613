"""What is secret in a config, and one function that hides it in any text nvr shows or logs.

Secrets are found two ways, and both apply everywhere (``/api/config``, ``nvr check-config``,
every log line, ffmpeg's stderr included):

- by value: the strings the config itself holds as secrets (URL passwords of inputs, every
  ``environment_vars`` value and ``FRIGATE_*`` variable, the MQTT password, the values of
  credential headers and of credential-looking query keys), also in their URL-encoded form;
- by shape, for text that holds a secret nvr never saw as such: the user info of any URL (up
  to its last ``@``, as ffmpeg reads it), credential-looking query values, and the values of
  ``Authorization``, ``Proxy-Authorization`` and ``Cookie`` headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote

from nvr.config.schema import NvrConfig

REDACTED = "*****"
MIN_SECRET = 3  # shorter values are hidden by shape only (hiding every "ab" would garble logs)

_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/\s]*@", re.IGNORECASE)
_CREDENTIAL_KEY = r"[^=&?\s]*(?:user|pass|pw|pwd|token|key|secret|auth|sig|session|cred)[^=&?\s]*"
_SECRET_QUERY = re.compile(rf"(?P<key>[?&]{_CREDENTIAL_KEY}=)[^&\s'\"]*", re.IGNORECASE)
# A header's value: an optional scheme and a token, or cookies separated by "; ".
_SECRET_HEADER = re.compile(r"(?P<name>\b(?:proxy-)?authorization|\bcookie)(?P<colon>\s*:\s*)"
                            r"(?:(?:basic|bearer|digest|negotiate|token)\s+)?[^\s'\"]+"
                            r"(?:;\s*[^\s'\"]+)*", re.IGNORECASE)


def redact(text: str) -> str:
    """Hide what looks like a credential: URL user info, credential query values, headers."""
    text = _USERINFO.sub(rf"\g<scheme>{REDACTED}@", text)
    text = _SECRET_QUERY.sub(rf"\g<key>{REDACTED}", text)
    return _SECRET_HEADER.sub(rf"\g<name>\g<colon>{REDACTED}", text)


def config_secrets(config: NvrConfig, environ: Mapping[str, str]) -> set[str]:
    """The secret strings of ``config`` (and the ``FRIGATE_*`` variables of ``environ``)."""
    secrets = {value for key, value in environ.items() if key.startswith("FRIGATE_")}
    secrets.update(config.environment_vars.values())
    if config.mqtt is not None and config.mqtt.password:
        secrets.add(config.mqtt.password)
    for camera in config.cameras.values():
        for camera_input in camera.ffmpeg.inputs:
            secrets.update(_url_secrets(camera_input.path))
            arguments = [*(camera.ffmpeg.input_args or []), *(camera_input.input_args or [])]
            secrets.update(_header_secrets(arguments))
    return secrets


def _url_secrets(url: str) -> set[str]:
    secrets = set()
    # The authority runs to the first "/" after the scheme; ffmpeg ends user info at its last @.
    authority = url.partition("://")[2].partition("/")[0]
    userinfo = authority.rpartition("@")[0]
    if userinfo:
        secrets.add(userinfo)
        secrets.add(unquote(userinfo.partition(":")[2]))
    for match in _SECRET_QUERY.finditer(url):
        secrets.add(url[match.end("key"):match.end()])
    return secrets


def _header_secrets(arguments: Iterable[str]) -> set[str]:
    return {match.group(0)[match.end("colon") - match.start():]
            for argument in arguments for match in _SECRET_HEADER.finditer(argument)}


class Redactor:
    """Hides ``secrets`` (and their URL-encoded forms) and credential shapes in text."""

    @classmethod
    def of(cls, config: NvrConfig, environ: Mapping[str, str]) -> Redactor:
        return cls(config_secrets(config, environ))

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {form for secret in secrets if len(secret) >= MIN_SECRET
                  for form in (secret, quote(secret, safe=""), quote(secret))}
        # Longest first, so that a secret containing another is hidden whole.
        alternatives = sorted(values, key=len, reverse=True)
        self._values = (re.compile("|".join(map(re.escape, alternatives)))
                        if alternatives else None)

    def __call__(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        return redact(text)
