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

A dial given up on — no result in time, or the event socket lost or silent while it was being
sent — must not come to life later: a FreeSWITCH that was stalled runs the originate when it
continues. The dialler's record says it gave up; the uuid is remembered (bounded, for
`ABANDONED_SECONDS`), and the call is hung up with `LATE_DIAL_CAUSE`, with no record of its
own, wherever it shows up first: a `uuid_kill` as soon as the event socket is back (it may be
ringing by then), its socket reaching this process (`late()`, asked by the server before it
would resume the call), or the originate's late BACKGROUND_JOB `+OK <uuid>`, which FreeSWITCH
sends to every event-socket client (so also to the connection made after the stalled one).
A socket that reaches another callflow process is refused there once past the
`callflow_dial_deadline` the originate carries (its dialler has given up for sure by then);
one that arrives sooner runs there, and the dialler kills it as its BACKGROUND_JOB comes in:
that call then has a second record, from the other process (docs/operations.md).

Nothing from a contact or a template reaches the originate string unchecked: numbers must be
numbers, names and values are restricted to characters with no meaning to FreeSWITCH's
parser, and free data travels base64url-encoded. Error messages and log lines name the field
and what is wrong with it, never the value (contact data) or the originate string.
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
import unicodedata
import uuid as uuidlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import gevent
from gevent.event import AsyncResult
from gevent.event import Event as Flag

from controller import logs, metrics
from controller.esl.channel import Channel
from controller.esl.inbound import CommandNotRun, EventSocketClient
from controller.esl.messages import Event
from controller.exceptions import ESLError, NodeError

log = logging.getLogger("callflow.dialer")

INSTANCE_ID = f"{socket.gethostname()}-{os.getpid()}-{uuidlib.uuid4().hex[:6]}"
SOCKET_GRACE = 10.0  # after +OK, how long the socket may take to arrive
THROTTLE_SECONDS = 0.2  # a DESTINATION_OUT_OF_ORDER this fast is FreeSWITCH's sps throttle
MAX_STATE_BYTES = 48 * 1024
# A dial given up on is watched for this long, for at most this many dials at once (the
# oldest are forgotten first); past its callflow_dial_deadline, any process refuses it.
ABANDONED_SECONDS, ABANDONED_MAX = 3600.0, 10_000
# How a call placed after its dial was given up is hung up: the originator cancelled it.
LATE_DIAL_CAUSE = "ORIGINATOR_CANCEL"
CANCEL_WAIT = 60.0  # how long a dial given up on waits for the event socket to cancel it
# Controllers behind one FreeSWITCH may disagree on the time by this much.
CLOCK_SKEW = 30.0

# Checked with fullmatch: `$` also matches before a final newline, so "0600\n" passed.
_DIGITS = "0123456789*#"
_WORD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
_NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
_DIAL_STRING = re.compile(r"[A-Za-z0-9_./:@+=-]{1,256}")
_VALUE = re.compile(r"[A-Za-z0-9_.:@+/=-]{0,256}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_CALLER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")


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


def _what_is_wrong(value: str, allowed: str, longest: int) -> str:
    """Why `value` failed its check, without repeating it (it may be contact data)."""
    for index, char in enumerate(value):
        if char not in allowed:
            if char.isascii() and char.isprintable():
                shown = repr(char)
            else:
                shown = f"U+{ord(char):04X} {unicodedata.name(char, 'a control character')}"
            return f"character {index + 1} of {len(value)} is {shown}"
    if not value:
        return "it is empty"
    if len(value) > longest:
        return f"it is {len(value)} characters long, more than {longest}"
    return "a '+' may only lead"


def check_request(request: DialRequest) -> None:
    """NodeError for anything that could change the originate command's meaning. The
    message names the field and what is wrong, never the value (contact data)."""
    if not _NUMBER.fullmatch(request.destination):
        raise NodeError(
            "destination is not a phone number (digits, * and #, optionally a leading +): "
            + _what_is_wrong(request.destination, "+" + _DIGITS, 33)
        )
    if not _DIAL_STRING.fullmatch(request.dial_string):
        raise NodeError(
            "dial string has characters FreeSWITCH would parse (spaces, commas, quotes, "
            "braces, line breaks): " + _what_is_wrong(request.dial_string, _WORD + "./:@+=-", 256)
        )
    if request.caller_id_number is not None and not _NUMBER.fullmatch(request.caller_id_number):
        raise NodeError(
            "caller id number is not a number: "
            + _what_is_wrong(request.caller_id_number, "+" + _DIGITS, 33)
        )
    if request.caller_id_name is not None and not _CALLER_NAME.fullmatch(request.caller_id_name):
        raise NodeError(
            "caller id name: use letters, digits, '.', '_' and '-' (no spaces): "
            + _what_is_wrong(request.caller_id_name, _WORD + ".-", 40)
        )
    for name, value in request.variables.items():
        if not _NAME.fullmatch(name):
            raise NodeError(
                f"channel variable name {name!r}: letters, digits and _ only, "
                "not starting with a digit"
            )
        if not _VALUE.fullmatch(value):
            raise NodeError(
                f"channel variable {name}: values may hold letters, digits and "
                ". _ : @ + / = - only: " + _what_is_wrong(value, _WORD + ".:@+/=-", 256)
            )


def late_dial(variables: dict[str, str], *, now: float | None = None) -> str | None:
    """Why a call carrying `callflow_state` is one whose dialler has certainly given up
    (whichever process dialled it), or None."""
    deadline = variables.get("callflow_dial_deadline", "")
    if not deadline.isdigit():
        return None
    late_by = (time.time() if now is None else now) - int(deadline)
    if late_by <= CLOCK_SKEW:
        return None
    return f"its dial was given up on: it arrived {late_by:.0f} s after the dial's last moment"


def originate_command(
    uuid: str,
    request: DialRequest,
    socket_address: tuple[str, int],
    *,
    deadline: float | None = None,
) -> str:
    """`deadline`: when (Unix time) the dialler gives up for sure; a socket that arrives
    later anywhere is refused (late_dial)."""
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
    if deadline is not None:
        variables["callflow_dial_deadline"] = str(math.ceil(deadline))
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
        # Dials given up on: uuid -> (time.monotonic() when, why), oldest first.
        self._abandoned: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self.throttled = 0
        self.never_connected = 0
        self.killed_late = 0
        client.on_unclaimed_job(self._late_job)

    def claim(self, channel_uuid: str) -> _Attempt | None:
        """The outbound server asks: is this socket the answer to one of our dials?"""
        return self._pending.get(channel_uuid)

    def release(self, channel_uuid: str) -> None:
        """The dialling side is finished with the call (the server may close its socket)."""
        attempt = self._pending.pop(channel_uuid, None)
        if attempt is not None:
            attempt.done.set()

    @property
    def pending(self) -> int:
        """Dials in progress, and answered calls whose dialling side is not finished."""
        return len(self._pending)

    def late(self, channel_uuid: str, variables: dict[str, str]) -> str | None:
        """The server asks about a socket nobody claimed that carries `callflow_state`:
        why it must be hung up unrun (its dial was given up on), or None to run it."""
        self._expire()
        given_up = self._abandoned.pop(channel_uuid, None)
        if given_up is not None:
            reason: str | None = (
                f"its dial was given up on {time.monotonic() - given_up[0]:.0f} s ago"
            )
        else:  # another process's dial, or one forgotten here: its deadline tells
            reason = late_dial(variables)
        if reason is not None:
            self.killed_late += 1
            metrics.DIALS_LATE.labels("socket").inc()
        return reason

    def dial(
        self, request: DialRequest, *, wait_timeout: float, uuid: str | None = None
    ) -> DialOutcome:
        """Originate `request`; `uuid` is the origination uuid to use (a program commits it
        before the dial, to find the call again after a crash), else a fresh one."""
        uuid = str(uuidlib.UUID(uuid)) if uuid else str(uuidlib.uuid4())
        deadline = time.time() + self.client.timeout + wait_timeout + SOCKET_GRACE
        # Before anything is registered: a refused request leaves nothing behind.
        command = originate_command(uuid, request, self.socket_address, deadline=deadline)
        attempt = self._pending[uuid] = _Attempt(uuid)

        def hung_up(event: Event) -> None:
            log.debug("dialled channel %s hung up: %s", uuid, event.get("Hangup-Cause", "?"))
            attempt.hangup.set(event)

        # Run by the event-socket reader, which serves every call: in this call's log context.
        self.client.on_hangup(uuid, logs.in_this_context(hung_up))
        started = time.monotonic()
        outcome = DialOutcome(uuid)
        job: AsyncResult | None = None
        try:
            job = self.client.bgapi(command)
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
        except CommandNotRun:
            raise  # FreeSWITCH will not run it: nothing to give up on
        except ESLError as exc:
            # Sent or not, FreeSWITCH may still run it (a stalled one runs it when it goes
            # on): the call is given up on, and killed if it shows up.
            waited = time.monotonic() - started
            self._give_up(uuid, f"{type(exc).__name__}: {exc}")
            raise ESLError(
                f"dial {uuid} gave up after {waited:.1f} s: {exc}; should FreeSWITCH place "
                f"the call later, it is hung up ({LATE_DIAL_CAUSE})"
            ) from None
        finally:
            if job is not None and not job.ready():
                # A result that comes now is a late one: it goes to _late_job.
                self.client.forget_job(job)
            if outcome.channel is None:
                self.release(uuid)
                if not outcome.handed_off:
                    self.client.on_hangup(uuid, None)
        return outcome

    def _elsewhere(self, attempt: _Attempt, outcome: DialOutcome, *, answered: bool) -> None:
        if not answered:  # no result at all in time: stop it ringing, report an error
            outcome.cause = "NO_RESULT"
            self._give_up(attempt.uuid, "no result from FreeSWITCH in time", cancel=False)
            with contextlib.suppress(ESLError):
                self.client.bgapi(f"uuid_kill {attempt.uuid} {LATE_DIAL_CAUSE}")
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

    # -- dials given up on ------------------------------------------------------------------

    def _give_up(self, uuid: str, why: str, *, cancel: bool = True) -> None:
        log.warning("dial %s given up: %s; it is killed if FreeSWITCH places it later", uuid, why)
        self._abandoned[uuid] = (time.monotonic(), why)
        self._abandoned.move_to_end(uuid)
        self._expire()
        if cancel:
            gevent.spawn(logs.in_this_context(self._cancel_when_connected), uuid)

    def _cancel_when_connected(self, uuid: str) -> None:
        """Hang the call up as soon as the event socket is back: one FreeSWITCH placed
        meanwhile is likely still ringing, and cancelling it then beats hanging up on the
        person who answers. A uuid FreeSWITCH does not know yet stays watched."""
        if not self.client.wait_connected(CANCEL_WAIT) or uuid not in self._abandoned:
            return
        try:
            body = self.client.bgapi(f"uuid_kill {uuid} {LATE_DIAL_CAUSE}").get(
                timeout=self.client.timeout
            )
        except (ESLError, gevent.Timeout):
            return
        if body.startswith("+OK") and self._abandoned.pop(uuid, None) is not None:
            self.killed_late += 1
            metrics.DIALS_LATE.labels("reconnect").inc()
            log.warning(
                "dial %s: FreeSWITCH had placed the call after it was given up on; "
                "hung up (%s) once the event socket was back",
                uuid,
                LATE_DIAL_CAUSE,
            )

    def _expire(self) -> None:
        oldest_kept = time.monotonic() - ABANDONED_SECONDS
        while self._abandoned and (
            len(self._abandoned) > ABANDONED_MAX
            or next(iter(self._abandoned.values()))[0] < oldest_kept
        ):
            self._abandoned.popitem(last=False)

    def _late_job(self, event: Event) -> None:
        """A BACKGROUND_JOB nobody waits for (run by the event-socket reader: no waiting
        here). `+OK <uuid>` of a dial given up on: that call exists now; kill it."""
        body = (event.body or "").strip()
        if not body.startswith("+OK "):
            return
        uuid = body[4:].strip()
        self._expire()
        if self._abandoned.pop(uuid, None) is None:
            return  # not ours, or handled already
        self.killed_late += 1
        metrics.DIALS_LATE.labels("job").inc()
        log.warning(
            "dial %s: FreeSWITCH placed the call after it was given up on; hanging it up (%s)",
            uuid,
            LATE_DIAL_CAUSE,
        )
        gevent.spawn(self._kill, uuid)

    def _kill(self, uuid: str) -> None:
        try:
            self.client.bgapi(f"uuid_kill {uuid} {LATE_DIAL_CAUSE}")
        except ESLError as exc:
            log.warning("dial %s: could not hang up the late call: %s", uuid, exc)
