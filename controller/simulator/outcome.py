"""What a simulated call did, for tests and for `callflow simulate` to print."""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.simulator.expand import ApiRun


@dataclass
class AppRun:
    """One application execution (one per loop of a `loops: N` sendmsg)."""

    name: str
    arg: str
    app_uuid: str
    started_at: float
    response: str | None = None  # Application-Response; None if it never completed
    ended_at: float | None = None
    variables: dict[str, str] = field(default_factory=dict)  # set or changed while it ran
    completed: bool = False  # CHANNEL_EXECUTE_COMPLETE was fired

    @property
    def seconds(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass
class CallOutcome:
    """The record of one call. `hangup_by`: "caller" (script, test or SimulatedCall.hangup),
    "controller" (sendmsg hangup, the hangup app, uuid_kill, closing the socket or `exit`
    while the call was up) or "freeswitch" (what FreeSWITCH itself hangs up on: an unknown
    application, a recording that cannot be written, no controller to connect to).
    `closed_by` says who closed the socket: "freeswitch" (no linger, linger expired, exit),
    "controller", or None while it is still open."""

    uuid: str
    hangup_cause: str | None = None
    hangup_by: str | None = None
    closed_by: str | None = None
    error: str | None = None
    apps: list[AppRun] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    frames_received: list[bytes] = field(default_factory=list)  # what the controller sent
    frames_sent: list[bytes] = field(default_factory=list)  # what the simulator sent
    variables: dict[str, str] = field(default_factory=dict)  # final channel variables
    digits_dialed: str = ""
    recordings: list[str] = field(default_factory=list)
    expansions_run: list[ApiRun] = field(default_factory=list)  # API calls expansions made
    started_at: float = 0.0
    ended_at: float | None = None  # hangup time (call clock)

    @property
    def app_names(self) -> list[str]:
        return [run.name for run in self.apps]

    def app(self, name: str, index: int = 0) -> AppRun:
        """The `index`-th run of application `name` (KeyError if there is none)."""
        runs = [run for run in self.apps if run.name == name]
        if index >= len(runs):
            raise KeyError(f"{name} ran {len(runs)} time(s): {self.app_names}")
        return runs[index]
