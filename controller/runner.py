"""Start the controller from settings: logging, flows, records, the outbound server.

Used by `callflow run` (and `make run`); tests build the same pieces with `build()`.
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass, field

import gevent

from controller import logs
from controller.api import ApiApp, RecentCalls
from controller.config import Settings
from controller.dialer import Dialer
from controller.esl.inbound import EventSocketClient
from controller.flowstore import FlowStore
from controller.http import HttpLimits, HttpServer
from controller.outbound import OutboundCalls
from controller.programs.database import ProgramDatabase
from controller.programs.manager import ProgramManager, build_manager
from controller.records import RecordWriter
from controller.reload import SettingsSource, reload_settings
from controller.server import CallServer
from controller.sockets import raise_descriptor_limit

log = logging.getLogger("callflow")

DRAIN_SECONDS = 30.0
WAKE_SECONDS = 60.0  # the main greenlet waits for signals; it wakes up at least this often


def setup_logging(settings: Settings) -> None:
    """Log lines to stderr in `log_format` (see `controller.logs`), from `log_level` up."""
    logs.configure(settings.log_format, settings.log_level)


@dataclass
class Controller:
    settings: Settings
    flows: FlowStore
    records: RecordWriter
    server: CallServer
    esl: EventSocketClient | None = None
    outbound: OutboundCalls | None = None
    http: HttpServer | None = None
    programs: ProgramManager | None = None  # outbound campaigns; started by `run`
    program_db: ProgramDatabase | None = None  # their store, shared by `programs` and the API
    calls: RecentCalls = field(default_factory=RecentCalls)  # recent records, for the API

    def readiness(self) -> dict[str, bool]:
        """/readyz: flows loaded, every record in the records file (none waiting in memory),
        and FreeSWITCH's event socket up when one is configured (up: connected and not silent;
        a connection with nothing from FreeSWITCH for esl_silence_timeout, or a command
        unanswered, is closed and counts as down)."""
        checks = {"flows": any(self.flows.get(f) for f in self.flows.flow_ids)}
        checks["records"] = self.records.ready
        if self.esl is not None:
            checks["event_socket"] = self.esl.connected
        return checks

    def start(self) -> None:
        """Listen for FreeSWITCH's sockets, then connect to its event socket for dialling."""
        self.server.start()
        http = _address(self.settings.http_listen)
        if http is not None:
            api = ApiApp(
                self.settings,
                flows=self.flows,
                calls=self.calls,
                outbound=self.outbound,
                esl=self.esl,
                programs=self.program_db,
            )
            self.http = HttpServer(
                http, ready=self.readiness, api=api, limits=HttpLimits.from_settings(self.settings)
            )
            self.http.start()
        if self.esl is not None and self.outbound is not None:
            socket_address = _address(self.settings.socket_address) or self.server.address
            self.outbound.dialer.socket_address = socket_address
            self.esl.start()

    def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Stop accepting calls, give the ones in progress time to finish, close records."""
        if self.programs is not None:
            self.programs.stop()  # no new dials; the calls in progress still record results
        if self.outbound is not None:
            self.outbound.stop(timeout=drain_seconds)
        self.server.stop(timeout=drain_seconds)
        if self.http is not None:
            self.http.stop()
        if self.esl is not None:
            self.esl.close()
        self.records.close()
        if self.programs is not None:
            self.programs.close()
        if self.program_db is not None:
            self.program_db.close()


def _address(text: str | None) -> tuple[str, int] | None:
    if not text:
        return None
    host, _, port = text.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def build(settings: Settings, **server_options: object) -> Controller:
    flows = FlowStore(
        settings.flows,
        audio_root=settings.audio,
        routes=settings.routes,
        default_flow=settings.default_flow,
    )
    flows.load_all()
    records = RecordWriter(settings.records, queue_limit=settings.records_queue)
    server = CallServer(settings, flows, records, **server_options)  # type: ignore[arg-type]
    controller = Controller(settings, flows, records, server)
    if settings.programs_db:
        controller.program_db = ProgramDatabase(settings.programs_db)
    server.on_record = controller.calls.hook(server.on_record)  # before outbound copies it
    esl = _address(settings.esl)
    if esl is not None:
        controller.esl = EventSocketClient(
            *esl,
            settings.esl_password,
            timeout=settings.command_timeout,
            silence_timeout=settings.esl_silence_timeout,
        )
        server.dialer = Dialer(controller.esl, socket_address=esl)  # replaced at start()
        controller.outbound = OutboundCalls(
            server,
            server.dialer,
            flows,
            records,
            observers=server.observers,
            on_record=server.on_record,
        )
    return controller


def run(settings: Settings, source: SettingsSource | None = None) -> int:
    """Serve until SIGTERM/SIGINT; SIGHUP reads the settings again from `source`."""
    setup_logging(settings)
    before, after = raise_descriptor_limit()
    log.info(
        "descriptor limit (RLIMIT_NOFILE) %s; HTTP leaves the last %d to calls",
        f"raised from {before} to {after}" if after != before else f"{after}",
        settings.call_fd_reserve,
    )
    if settings.call_fd_reserve > after // 2:
        log.warning(
            "call_fd_reserve %d is more than half the descriptor limit %d: HTTP leaves %d; "
            "raise the hard limit (systemd LimitNOFILE=, docker --ulimit nofile=)",
            settings.call_fd_reserve,
            after,
            after // 2,
        )
    controller = build(settings)
    valid = [flow_id for flow_id in controller.flows.flow_ids if controller.flows.get(flow_id)]
    log.info("serving %d flow(s) from %s: %s", len(valid), settings.flows, ", ".join(valid))
    controller.start()
    controller.programs = build_manager(controller)
    if controller.programs is not None:
        controller.programs.start()
    stopping, hangup = gevent.event.Event(), gevent.event.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stopping.set)
    gevent.signal_handler(signal.SIGHUP, hangup.set)
    while not stopping.is_set():
        gevent.wait([stopping, hangup], count=1, timeout=WAKE_SECONDS)
        if hangup.is_set() and not stopping.is_set():
            hangup.clear()
            if source is None:
                log.warning("SIGHUP ignored: no settings source to read again")
            else:
                reload_settings(controller, source)  # in this greenlet: one reload at a time
    settings = controller.settings  # shutdown_grace may have been reloaded
    log.info(
        "stopping: %d call(s) in progress, %g s to finish",
        controller.server.active,
        settings.shutdown_grace,
    )
    controller.stop(drain_seconds=settings.shutdown_grace)
    log.info("stopped; %d record(s) written", controller.records.written)
    return 0
