"""The controller's settings: embedded defaults < config file < environment < command line.

- Config file: YAML, named by `--config PATH` or `CALLFLOW_CONFIG`; keys as in `Settings`
  (e.g. `listen: 0.0.0.0:8084`, `max_calls: 200`, `routes: [{match: "^1\\d{3}$", flow: x}]`).
- Environment: `CALLFLOW_<KEY>` in upper case, e.g. `CALLFLOW_LISTEN`, `CALLFLOW_MAX_CALLS`.
- Command line: `callflow run --flows DIR --audio DIR --recordings DIR --records PATH
  --listen HOST:PORT`.
Every problem is a `ConfigError` naming the setting and where it came from.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller import patterns
from controller.exceptions import ConfigError
from controller.flows.source import SourceError, read_document

# FreeSWITCH splits application arguments on spaces and file_string members on '!'.
# Matched with fullmatch: `$` also matches before a final newline.
_FS_SAFE_PATH = re.compile(r"[^\s!]+")
_INSTANCE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True, slots=True)
class Route:
    match: str  # a regular expression matched against the whole destination number
    flow: str


@dataclass(frozen=True, slots=True)
class Settings:
    flows: Path = Path("flows")
    audio: Path = Path("audio")
    recordings: Path = Path("recordings")
    records: Path = Path("records/calls.jsonl")
    records_queue: int = 10_000  # records kept in memory while the file refuses them
    listen: str = "127.0.0.1:8084"
    max_calls: int = 500
    linger_seconds: int = 5
    command_timeout: float = 5.0
    media_timeout: float = 600.0
    # How long a new outbound-socket connection has to answer our `connect` with a channel,
    # as FreeSWITCH does at once. Connections that do not are closed, counted
    # (callflow_outbound_connects_abandoned_total) and not recorded: they are not calls.
    connect_timeout: float = 3.0
    max_steps: int = 1000
    shutdown_grace: float = 30.0  # on SIGTERM, how long calls in progress may finish
    call_deadline: float = 4 * 3600.0
    default_flow: str | None = None
    contacts: Path | None = None  # JSON list of contacts, looked up by caller id number
    routes: tuple[Route, ...] = field(default_factory=tuple)
    http_listen: str | None = "127.0.0.1:8085"  # /metrics, /healthz, /readyz; "" = off
    # Keys accepted in the /api routes' x-api-key header; none configured: the API is closed.
    # repr=False: settings may be logged, keys must not be.
    api_keys: tuple[str, ...] = field(default_factory=tuple, repr=False)
    api_max_body: int = 1024 * 1024  # bytes; larger /api request bodies get 413
    # HTTP connections served at once. At the cap a new connection closes the one that has
    # waited longest for its client (request headers or body); if none is waiting, it gets
    # 503 and is closed.
    http_max_connections: int = 256
    http_header_timeout: float = 10.0  # seconds for a request's line and headers, in all
    http_body_timeout: float = 10.0  # seconds a request body (or a response) may stall
    # Descriptors HTTP never takes: it refuses connections while fewer than this many
    # would stay free, so calls can still be accepted (controller/sockets.py).
    call_fd_reserve: int = 1024
    esl: str | None = "127.0.0.1:8021"  # FreeSWITCH's event socket, for outbound calls; "" = off
    esl_password: str = "ClueCon"
    # Nothing from FreeSWITCH's event socket for this long, not even its HEARTBEAT (every
    # 20 s by default: switch.conf.xml's event-heartbeat-interval), and the connection is
    # taken for dead: closed, reconnected, /readyz not ready meanwhile. Raise it with the
    # heartbeat interval.
    esl_silence_timeout: float = 50.0
    socket_address: str | None = None  # where FreeSWITCH reaches our outbound server (listen)
    gateway: str = "default"
    # Programs (outbound campaigns) keep their state here: a SQLite file (one controller), or
    # a postgresql:// URL (several controllers sharing programs). repr=False: a URL may hold
    # a password.
    programs_db: Path | str | None = field(default=Path("programs/callflow.db"), repr=False)
    # This process's stable name in the program database (its calls in progress are resolved
    # by the process of that name when it starts again); default: the host name.
    instance_name: str = ""
    freeswitch_sps: float = 30.0  # FreeSWITCH's sessions-per-second; programs stay below it
    dial_string: str = "sofia/gateway/{{gateway}}/{{destination}}"
    log_format: str = "text"
    log_level: str = "info"

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)


# Every number has a range, so no setting can overflow a timer or a date (NaN and infinity
# refused too): durations in seconds, counts, bytes.
NUMBER_BOUNDS: dict[str, tuple[float, float]] = {
    "max_calls": (1, 100_000),
    "linger_seconds": (0, 3600),
    "command_timeout": (0.001, 3600),
    "media_timeout": (0.001, 86_400),
    "max_steps": (1, 1_000_000),
    "shutdown_grace": (0, 3600),
    "call_deadline": (0.001, 7 * 86_400),
    "api_max_body": (1, 64 * 1024 * 1024),
    "freeswitch_sps": (0.001, 10_000),
}

_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _convert(name: str, value: Any, origin: str) -> Any:
    kind = _FIELDS[name].type
    try:
        if name == "routes":
            if not isinstance(value, list):
                raise ValueError("must be a list of {match, flow}")
            routes = []
            for item in value:
                route = Route(match=str(item["match"]), flow=str(item["flow"]))
                patterns.compile_pattern(route.match)  # RE2, as the flow store runs it
                routes.append(route)
            return tuple(routes)
        if name == "api_keys":
            # A YAML list, or text with keys separated by commas (CALLFLOW_API_KEYS=k1,k2).
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(k, str) for k in items):
                raise ValueError("must be a list of keys or a comma-separated text")
            return tuple(k.strip() for k in items if k.strip())
        if name == "programs_db" and str(value).startswith(("postgresql://", "postgres://")):
            return str(value)  # a URL: as a Path its '//' would be lost
        if kind == "Path":
            return Path(str(value))
        if kind in ("Path | None", "Path | str | None"):
            return None if value in (None, "") else Path(str(value))
        if kind == "int":
            if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
                raise ValueError(f"must be a whole number, not {value!r}")
            return int(value)
        if kind == "float":
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"must be a number, not {value!r}") from None
        if kind == "str | None":
            return None if value in (None, "") else str(value)
        return str(value)
    except (ValueError, TypeError, KeyError, re.error) as exc:
        raise ConfigError(f"{name} (from {origin}): {exc}") from None


def load_settings(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = config_file or (
        Path(environ["CALLFLOW_CONFIG"]) if environ.get("CALLFLOW_CONFIG") else None
    )
    if config_file is not None:
        try:
            document, _ = read_document(config_file)
        except SourceError as exc:
            raise ConfigError(f"{config_file}: {exc.message}") from None
        for key, value in document.data.items():
            if key not in _FIELDS:
                raise ConfigError(f"{config_file}: unknown setting {key!r}")
            values[key] = _convert(key, value, str(config_file))
    for key in _FIELDS:
        env_name = f"CALLFLOW_{key.upper()}"
        if env_name in environ and key != "routes":
            values[key] = _convert(key, environ[env_name], env_name)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _convert(key, value, f"--{key.replace('_', '-')}")
    settings = Settings(**values)
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    try:
        settings.host_port  # noqa: B018 - parse it once to report a bad value early
    except ValueError:
        raise ConfigError(f"listen: {settings.listen!r} is not HOST:PORT") from None
    for name in ("audio", "recordings"):
        path = str(getattr(settings, name).resolve())
        if not _FS_SAFE_PATH.fullmatch(path):
            raise ConfigError(
                f"{name}: {path!r} must not contain spaces or '!' (FreeSWITCH "
                "splits application arguments on them)"
            )
    if not 1.0 <= settings.esl_silence_timeout <= 3600.0:
        raise ConfigError(
            "esl_silence_timeout must be between 1 and 3600 seconds (FreeSWITCH sends a "
            "HEARTBEAT every 20 s by default; 50 allows two to go missing)"
        )
    if settings.max_calls < 1:
        raise ConfigError("max_calls must be at least 1")
    if settings.freeswitch_sps <= 0:
        raise ConfigError("freeswitch_sps must be above 0 (FreeSWITCH's sessions-per-second)")
    if settings.instance_name and not _INSTANCE_NAME.fullmatch(settings.instance_name):
        raise ConfigError(
            f"instance_name: {settings.instance_name!r} must be 1-64 letters, digits, '.', "
            "'_' or '-'"
        )
    if not 1 <= settings.records_queue <= 1_000_000:
        raise ConfigError("records_queue must be between 1 and 1000000 (records)")
    if not 0 < settings.connect_timeout <= 60:
        raise ConfigError("connect_timeout must be above 0 and at most 60 (seconds)")
    if settings.http_max_connections < 1:
        raise ConfigError("http_max_connections must be at least 1")
    for name in ("http_header_timeout", "http_body_timeout"):
        if not 0 < getattr(settings, name) <= 3600:
            raise ConfigError(f"{name} must be above 0 and at most 3600 (seconds)")
    if settings.call_fd_reserve < 0:
        raise ConfigError("call_fd_reserve must be 0 or more (descriptors)")
    if settings.api_max_body < 1:
        raise ConfigError("api_max_body must be at least 1 (bytes)")
    for name, (lowest, highest) in NUMBER_BOUNDS.items():
        value = getattr(settings, name)
        if not math.isfinite(value) or not lowest <= value <= highest:
            raise ConfigError(f"{name} must be from {lowest:g} to {highest:g}, not {value!r}")
    if settings.log_format not in ("text", "json"):
        raise ConfigError("log_format must be text or json")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError("log_level must be debug, info, warning, error or critical")
