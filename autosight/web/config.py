"""Settings of the HTTP server, read like every other setting (``.env`` under the real environment).

Kept apart from ``settings.Settings`` because only ``api.py`` needs them; the database, analysis and
output settings are the shared ones.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from errors import ConfigError
from settings import read_environment

DEFAULT_UPLOAD_LIMIT_MB = 200
BYTES_PER_MB = 1024 * 1024
MAX_INTERVAL_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class WebConfig:
    """What ``api.py`` needs on top of the shared settings."""

    api_token: str | None = None
    upload_limit_bytes: int = DEFAULT_UPLOAD_LIMIT_MB * BYTES_PER_MB
    upload_dir: Path | None = None  # None: AUTOSIGHT_DATA_DIR/uploads
    cors_origins: tuple[str, ...] = ()
    inbox_dir: Path | None = None
    inbox_interval_minutes: int | None = None

    @property
    def schedules_inbox(self) -> bool:
        return self.inbox_dir is not None and self.inbox_interval_minutes is not None


def load_web_config(environ: Mapping[str, str] | None = None) -> WebConfig:
    """Validated HTTP settings; raises ConfigError naming the bad variable."""
    env = dict(read_environment() if environ is None else environ)

    def text(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    inbox = text("INBOX_DIR")
    interval = _whole_number(text("INBOX_INTERVAL_MINUTES"), "INBOX_INTERVAL_MINUTES", MAX_INTERVAL_MINUTES)
    if interval is not None and inbox is None:
        raise ConfigError("INBOX_INTERVAL_MINUTES is set but INBOX_DIR is not: which folder should be scheduled?")
    limit_mb = _whole_number(text("UPLOAD_MAX_MB"), "UPLOAD_MAX_MB", 1024 * 1024)
    token = text("AUTOSIGHT_API_TOKEN")
    if token is not None and len(token) < 16:
        raise ConfigError("AUTOSIGHT_API_TOKEN is shorter than 16 characters: use a long random value "
                          f"({TOKEN_ADVICE})")
    if token is not None and not VISIBLE_ASCII.match(token):
        raise ConfigError("AUTOSIGHT_API_TOKEN holds a space, a control character or a non-ASCII letter: it travels "
                          f"in an HTTP header, where no client could send it as it is ({TOKEN_ADVICE})")
    upload_dir = text("UPLOAD_DIR")
    return WebConfig(
        api_token=token,
        upload_limit_bytes=(limit_mb or DEFAULT_UPLOAD_LIMIT_MB) * BYTES_PER_MB,
        upload_dir=Path(upload_dir) if upload_dir else None,
        cors_origins=tuple(_origin(origin.strip()) for origin in (text("CORS_ORIGINS") or "").split(",")
                           if origin.strip()),
        inbox_dir=Path(inbox) if inbox else None,
        inbox_interval_minutes=interval,
    )


VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]+$")
TOKEN_ADVICE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
ORIGIN = re.compile(r"^https?://[^/?#@\s]+$", re.IGNORECASE)


def _origin(text: str) -> str:
    """An origin as browsers send it (scheme://host[:port], no path), or ``*``: "https://bi.example.com/" is
    taken without its slash; anything else is refused, as it would never match and leave CORS silently off."""
    origin = text.rstrip("/") if text != "*" else text
    if origin != "*" and not ORIGIN.match(origin):
        raise ConfigError(f"CORS_ORIGINS: '{text}' is not an origin (scheme://host[:port], e.g. "
                          "https://bi.example.com, without a path; or *)")
    return origin


def _whole_number(raw: str | None, name: str, maximum: int) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ConfigError(f"{name}: '{raw}' is not a whole number between 1 and {maximum}")
    return int(raw)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def check_binding(host: str, config: WebConfig) -> None:
    """Refuse to serve the data beyond this machine without a token."""
    if not is_loopback(host) and config.api_token is None:
        raise ConfigError(f"refusing to listen on {host} without AUTOSIGHT_API_TOKEN: anyone who can reach it would "
                          "read the sales data (set a token, or bind to 127.0.0.1)")
