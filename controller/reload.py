"""SIGHUP: read the settings again (the same config file, environment and command-line options
as at start) and apply what can change while calls run.

Applied at once, to calls that start from now on (a call in progress keeps the timeouts,
limits and flow version it started with): `log_format`, `log_level`, `routes`,
`default_flow`, `max_calls`, the timeouts and limits, `linger_seconds`, `gateway`,
`dial_string`, `recordings`, `contacts`, `shutdown_grace`, and `api_keys`/`api_max_body`
(handed to the HTTP API's `apply_settings`; an API without one keeps its keys until a
restart). The flows directory is rescanned for new, changed and deleted files.

Everything else (the listen addresses, the event socket, the records file, the flows and
audio directories, and any setting not listed in `LIVE`) needs a restart: a change is logged,
naming each setting, and the value in effect is kept, so `Controller.settings` always says
what the process really uses. A settings file that cannot be read or holds a bad value
changes nothing: the error is logged, naming the file and the setting, and the process goes
on with the settings it had.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller import logs
from controller.config import Settings, load_settings
from controller.contacts import ContactDirectory
from controller.engine import Limits
from controller.exceptions import ConfigError

if TYPE_CHECKING:
    from controller.runner import Controller

log = logging.getLogger("callflow.reload")

LIVE = frozenset(
    {
        "log_format",
        "log_level",
        "routes",
        "default_flow",
        "max_calls",
        "linger_seconds",
        "command_timeout",
        "connect_timeout",
        "media_timeout",
        "max_steps",
        "call_deadline",
        "shutdown_grace",
        "contacts",
        "gateway",
        "dial_string",
        "recordings",
        "api_keys",
        "api_max_body",
    }
)
API_SETTINGS = ("api_keys", "api_max_body")


@dataclass(frozen=True, slots=True)
class SettingsSource:
    """Where the settings came from at start, to read them again the same way."""

    config_file: Path | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> Settings:
        return load_settings(config_file=self.config_file, overrides=self.overrides)

    def describe(self) -> str:
        config = self.config_file or os.environ.get("CALLFLOW_CONFIG")
        return f"{config} and the environment" if config else "the environment"


@dataclass(slots=True)
class ReloadResult:
    applied: list[str] = field(default_factory=list)  # settings changed and in effect now
    needs_restart: list[str] = field(default_factory=list)  # changed, kept until a restart
    error: str | None = None  # the settings could not be read: nothing changed


def reload_settings(controller: Controller, source: SettingsSource) -> ReloadResult:
    """Read the settings again and apply them; never raises for a bad settings file."""
    old = controller.settings
    try:
        new = source.load()
        # Read before anything changes: a bad contacts file rejects the whole reload.
        contacts = ContactDirectory(new.contacts) if new.contacts != old.contacts else None
    except ConfigError as exc:
        log.error(
            "settings not reloaded from %s: %s; the settings in effect are kept",
            source.describe(),
            exc,
        )
        return ReloadResult(error=str(exc))
    changed = [
        f.name for f in dataclasses.fields(Settings) if getattr(old, f.name) != getattr(new, f.name)
    ]
    api = getattr(controller.http, "api", None)
    takes_settings = callable(getattr(api, "apply_settings", None))
    result = ReloadResult()
    for name in changed:
        live = name in LIVE and (name not in API_SETTINGS or takes_settings or api is None)
        (result.applied if live else result.needs_restart).append(name)
    effective = dataclasses.replace(new, **{n: getattr(old, n) for n in result.needs_restart})
    try:
        _apply(controller, old, effective, contacts)
        if takes_settings and any(name in API_SETTINGS for name in result.applied):
            api.apply_settings(effective)  # type: ignore[union-attr]
    except Exception:  # a bug here must not take the calls down: say so, keep serving
        log.exception("applying the reloaded settings failed; some may not be in effect")
    for loaded in controller.flows.rescan():
        if loaded.flow is not None:
            log.info("flow %s: version %s loaded", loaded.flow_id, loaded.flow.version)
    applied = f"applied {', '.join(result.applied)}" if result.applied else "nothing changed"
    log.info("settings reloaded from %s: %s", source.describe(), applied)
    if result.needs_restart:
        # Names only: some of these (esl_password, api_keys) are secrets.
        log.warning(
            "settings changed that take effect only after a restart (the values from start "
            "stay in use): %s",
            ", ".join(result.needs_restart),
        )
    _warn_about_routes(controller, effective)
    return result


def _apply(
    controller: Controller,
    old: Settings,
    new: Settings,
    contacts: ContactDirectory | None,
) -> None:
    controller.settings = new
    if (new.log_format, new.log_level) != (old.log_format, old.log_level):
        logs.configure(new.log_format, new.log_level)
    if (new.routes, new.default_flow) != (old.routes, old.default_flow):
        controller.flows.set_routes(new.routes, new.default_flow)
    server = controller.server
    server.settings = new
    if contacts is not None:
        server.contacts = contacts
    if (new.max_steps, new.call_deadline) != (old.max_steps, old.call_deadline):
        server.limits = Limits(max_steps=new.max_steps, deadline_seconds=new.call_deadline)
    if new.recordings != old.recordings:
        new.recordings.mkdir(parents=True, exist_ok=True)
    # A new object: calls in progress keep the one they started with.
    server.call_settings = dataclasses.replace(
        server.call_settings,
        recordings_dir=new.recordings.resolve(),
        command_timeout=new.command_timeout,
        media_timeout=new.media_timeout,
        gateway=new.gateway,
        dial_string=new.dial_string,
    )
    if controller.esl is not None:
        controller.esl.timeout = new.command_timeout


def _warn_about_routes(controller: Controller, settings: Settings) -> None:
    known = set(controller.flows.flow_ids)
    targets = [route.flow for route in settings.routes] + [settings.default_flow or ""]
    for flow_id in dict.fromkeys(t for t in targets if t and t not in known):
        log.warning(
            "routes: flow %r is not in %s; calls routed to it will not run",
            flow_id,
            settings.flows,
        )
