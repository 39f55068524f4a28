"""Placing outbound calls through FreeSWITCH, and learning what became of each one.

A dial is `bgapi originate {vars}<dial string> '&socket(<our outbound server> async full)'`
with an `origination_uuid` chosen here (the single quotes matter: unquoted, FreeSWITCH splits
`&socket(...)` on spaces and the socket runs in static mode). Then the first of:

- the socket with that uuid reaches this process's outbound server: the call is answered, and
  the dialling greenlet carries on with that channel;
- BACKGROUND_JOB `-ERR <CAUSE>`: the dial failed; the cause picks the node's output;
- BACKGROUND_JOB `+OK` but the socket arrived elsewhere: with several controllers behind one
  FreeSWITCH, the call's socket may land on another process. Everything the call needs
  (flow, version, contact, variables, where to resume) travels with it as the channel
  variable `callflow_state`, so that process runs the rest and writes the record; this one
  learns it from the CHANNEL_HANGUP_COMPLETE carrying `callflow_handled_by`;
- `+OK` and a hangup nobody handled: the socket never reached callflow (FreeSWITCH reports
  success, then hangs up ~20 ms later when nothing listens): recorded as such.

Nothing from a contact or a template reaches the originate string unchecked: numbers must be
numbers, names and values are restricted to characters with no meaning to FreeSWITCH's
parser, and free data travels base64url-encoded.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import math
import os
import re
import socket
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

import gevent
from gevent.event import AsyncResult
from gevent.event import Event as Flag

from controller import logs
from controller.esl.channel import Channel
from controller.esl.inbound import EventSocketClient
from controller.esl.messages import Event
from controller.exceptions import ESLError, NodeError

log = logging.getLogger("callflow.dialer")

INSTANCE_ID = f"{socket.gethostname()}-{os.getpid()}-{uuidlib.uuid4().hex[:6]}"
SOCKET_GRACE = 10.0  # after +OK, how long the socket may take to arrive
THROTTLE_SECONDS = 0.2  # a DESTINATION_OUT_OF_ORDER this fast is FreeSWITCH's sps throttle
MAX_STATE_BYTES = 48 * 1024

_NUMBER = re.compile(r"^\+?[0-9*#]{1,32}$")
_DIAL_STRING = re.compile(r"^[A-Za-z0-9_./:@+=-]{1,256}$")
_VALUE = re.compile(r"^[A-Za-z0-9_.:@+/=-]{0,256}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_CALLER_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def encode_state(state: dict[str, Any]) -> str:
    raw = json.dumps(state, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    if len(raw) > MAX_STATE_BYTES:
        raise NodeError(
            f"the call's state is {len(raw)} bytes, more than {MAX_STATE_BYTES} "
            "can travel with it (a very large contact?)"
        )
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_state(text: str) -> dict[str, Any]:
    data = json.loads(base64.urlsafe_b64decode(text.encode("ascii")))
    if not isinstance(data, dict):
        raise ValueError("callflow_state is not an object")
    return data


@dataclass(frozen=True, slots=True)
class DialRequest:
    destination: str
    dial_string: str
    timeout_ms: int
    caller_id_number: str | None = None
    caller_id_name: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DialOutcome:
    uuid: str
    channel: Channel | None = None
    cause: str | None = None  # why there is no channel (a FreeSWITCH hangup cause)
    handed_off: bool = False
    throttled: bool = False
    ring_ms: int = 0


def check_request(request: DialRequest) -> None:
    """NodeError for anything that could change the originate command's meaning."""
    if not _NUMBER.match(request.destination):
        raise NodeError(
            f"destination {request.destination!r} is not a phone number "
            "(digits, * and #, optionally a leading +)"
        )
    if not _DIAL_STRING.match(request.dial_string):
        raise NodeError(
            f"dial string {request.dial_string!r} has characters FreeSWITCH would "
            "parse (spaces, commas, quotes, braces)"
        )
    if request.caller_id_number is not None and not _NUMBER.match(request.caller_id_number):
        raise NodeError(f"caller id number {request.caller_id_number!r} is not a number")
    if request.caller_id_name is not None and not _CALLER_NAME.match(request.caller_id_name):
        raise NodeError(
            f"caller id name {request.caller_id_name!r}: use letters, digits, "
            "'.', '_' and '-' (no spaces)"
        )
    for name, value in request.variables.items():
        if not _NAME.match(name) or not _VALUE.match(value):
            raise NodeError(
                f"channel variable {name}={value!r}: values may hold letters, "
                "digits and . _ : @ + / = - only"
            )


def originate_command(uuid: str, request: DialRequest, socket_address: tuple[str, int]) -> str:
    check_request(request)
    variables: dict[str, str] = {
        **request.variables,
        "origination_uuid": uuid,
        "originate_timeout": str(max(1, math.ceil(request.timeout_ms / 1000))),
        "callflow_origin": INSTANCE_ID,
        "callflow_state": encode_state(request.state),
        # Barge-in is off unless a play node asks for it; set here, the call needs no
        # `set` command of its own when it reaches us (see CallServer._prepare).
        "playback_terminators": "none",
    }
    if request.caller_id_number:
        variables["origination_caller_id_number"] = request.caller_id_number
    if request.caller_id_name:
        variables["origination_caller_id_name"] = request.caller_id_name
    joined = ",".join(f"{name}={value}" for name, value in variables.items())
    host, port = socket_address
    return f"originate {{{joined}}}{request.dial_string} '&socket({host}:{port} async full)'"


@dataclass(slots=True)
class _Attempt:
    uuid: str
    socket: AsyncResult = field(default_factory=AsyncResult)
    hangup: AsyncResult = field(default_factory=AsyncResult)
    done: Flag = field(default_factory=Flag)  # set when the dialling side is finished


class Dialer:
    def __init__(self, client: EventSocketClient, socket_address: tuple[str, int]) -> None:
        self.client = client
        self.socket_address = socket_address
        self._pending: dict[str, _Attempt] = {}
        self.throttled = 0
        self.never_connected = 0

    def claim(self, channel_uuid: str) -> _Attempt | None:
        """The outbound server asks: is this socket the answer to one of our dials?"""
        return self._pending.get(channel_uuid)

    def release(self, channel_uuid: str) -> None:
        """The dialling side is finished with the call (the server may close its socket)."""
        attempt = self._pending.pop(channel_uuid, None)
        if attempt is not None:
            attempt.done.set()

    def dial(
        self, request: DialRequest, *, wait_timeout: float, uuid: str | None = None
    ) -> DialOutcome:
        """Originate `request`; `uuid` is the origination uuid to use (a program commits it
        before the dial, to find the call again after a crash), else a fresh one."""
        uuid = str(uuidlib.UUID(uuid)) if uuid else str(uuidlib.uuid4())
        attempt = self._pending[uuid] = _Attempt(uuid)

        def hung_up(event: Event) -> None:
            log.debug("dialled channel %s hung up: %s", uuid, event.get("Hangup-Cause", "?"))
            attempt.hangup.set(event)

        # Run by the event-socket reader, which serves every call: in this call's log context.
        self.client.on_hangup(uuid, logs.in_this_context(hung_up))
        started = time.monotonic()
        outcome = DialOutcome(uuid)
        try:
            job = self.client.bgapi(originate_command(uuid, request, self.socket_address))
            gevent.wait([job, attempt.socket], count=1, timeout=wait_timeout)
            if not attempt.socket.ready() and job.ready():
                body = job.get()  # ESLError when the event socket was lost meanwhile
                if body.startswith("-ERR"):
                    outcome.cause = body[4:].strip() or "UNSPECIFIED"
                    outcome.throttled = (
                        outcome.cause == "DESTINATION_OUT_OF_ORDER"
                        and time.monotonic() - started < THROTTLE_SECONDS
                    )
                    if outcome.throttled:
                        self.throttled += 1
                        log.warning(
                            "dial %s refused by FreeSWITCH's sessions-per-second "
                            "throttle (DESTINATION_OUT_OF_ORDER at once)",
                            uuid,
                        )
                else:
                    gevent.wait([attempt.socket, attempt.hangup], count=1, timeout=SOCKET_GRACE)
            outcome.ring_ms = int((time.monotonic() - started) * 1000)
            if attempt.socket.ready():
                outcome.channel = attempt.socket.get()
            elif outcome.cause is None:
                self._elsewhere(attempt, outcome, answered=job.ready())
        except ESLError:
            self.release(uuid)
            raise
        if outcome.channel is None:
            self.release(uuid)
            if not outcome.handed_off:
                self.client.on_hangup(uuid, None)
        return outcome

    def _elsewhere(self, attempt: _Attempt, outcome: DialOutcome, *, answered: bool) -> None:
        if not answered:  # no result at all in time: stop it ringing, report an error
            outcome.cause = "NO_RESULT"
            with contextlib.suppress(ESLError):
                self.client.bgapi(f"uuid_kill {attempt.uuid}")
            return
        if attempt.hangup.ready():
            event = attempt.hangup.get()
            if event.variable("callflow_handled_by"):
                outcome.handed_off = True
            else:
                self.never_connected += 1
                outcome.cause = "SOCKET_NOT_CONNECTED"
                log.error(
                    "dial %s was answered but its socket reached no callflow process "
                    "(is %s:%d reachable from FreeSWITCH?)",
                    attempt.uuid,
                    *self.socket_address,
                )
        else:
            outcome.handed_off = True  # answered and still up: another process has it
