"""A simulated channel's state, laid out the way FreeSWITCH serializes it into events.

Header names, their order and the way variables move are copied from the recordings in
/work/shared/freeswitch/transcripts (a loopback A leg answered before `socket`):

- Channel variables behave like FreeSWITCH's `channel->variables` (EF_UNIQ_HEADERS): setting
  a variable deletes it and appends it at the end, and an empty value only deletes it. This is
  why `current_application` and `current_application_data` swap places between
  CHANNEL_EXECUTE and PLAYBACK_START in the recordings.
- `Channel-State` is the running state (CS_EXECUTE until the state machine moves), while
  `Channel-State-Number` jumps to 10 (CS_HANGUP) as soon as the channel is hung up, so
  CHANNEL_HANGUP reads "CS_EXECUTE / 10" exactly as recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from controller.hangup_causes import HANGUP_CAUSES

CS_EXECUTE, CS_HANGUP, CS_REPORTING = 4, 10, 11
STATE_NAMES = {CS_EXECUTE: "CS_EXECUTE", CS_HANGUP: "CS_HANGUP", CS_REPORTING: "CS_REPORTING"}
CALL_STATE_NUMBERS = {"DOWN": 0, "RINGING": 2, "EARLY": 3, "ACTIVE": 4, "HANGUP": 7}


class Variables:
    """Channel variables in FreeSWITCH's order: set = delete + append; empty = delete."""

    __slots__ = ("_values",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, str] = {}
        for name, value in items:
            self.set(name, value)

    def set(self, name: str, value: str | None) -> None:
        self._values.pop(name, None)
        if value:
            self._values[name] = value

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name, default)

    def delete(self, name: str) -> None:
        self._values.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._values.items()))

    def as_dict(self) -> dict[str, str]:
        return dict(self._values)


def _us(seconds: float) -> str:
    return str(int(seconds * 1_000_000)) if seconds else "0"


def caller_profile(
    prefix: str,
    *,
    direction: str,
    dialplan: str,
    caller_id_name: str,
    caller_id_number: str,
    orig_caller_id_number: str,
    callee_id_name: str | None,
    callee_id_number: str,
    ani: str,
    destination: str,
    uuid: str,
    source: str,
    context: str,
    name: str,
    created: float,
    answered: float,
    progress: float,
    hangup: float,
    keep_empty: bool,
) -> list[tuple[str, str]]:
    """switch_caller_profile_event_set_data: a caller profile's headers under `prefix`
    (Caller-, Other-Leg-, ...). A None field is never written; `keep_empty`: write empty
    values too (an answered socket leg) rather than leave them out (an originated leg)."""
    created_us = _us(created)
    fields = [
        ("Direction", direction), ("Logical-Direction", direction), ("Dialplan", dialplan),
        ("Caller-ID-Name", caller_id_name), ("Caller-ID-Number", caller_id_number),
        ("Orig-Caller-ID-Number", orig_caller_id_number), ("Callee-ID-Name", callee_id_name),
        ("Callee-ID-Number", callee_id_number), ("ANI", ani),
        ("Destination-Number", destination), ("Unique-ID", uuid), ("Source", source),
        ("Context", context), ("Channel-Name", name), ("Profile-Index", "1"),
        ("Profile-Created-Time", created_us), ("Channel-Created-Time", created_us),
        ("Channel-Answered-Time", _us(answered)), ("Channel-Progress-Time", _us(progress)),
        ("Channel-Progress-Media-Time", "0"), ("Channel-Hangup-Time", _us(hangup)),
        ("Channel-Transfer-Time", "0"), ("Channel-Resurrect-Time", "0"),
        ("Channel-Bridged-Time", "0"), ("Channel-Last-Hold", "0"), ("Channel-Hold-Accum", "0"),
        ("Screen-Bit", "true"), ("Privacy-Hide-Name", "false"),
        ("Privacy-Hide-Number", "false"),
    ]  # fmt: skip
    return [
        (f"{prefix}-{key}", value)
        for key, value in fields
        if value is not None and (keep_empty or value)
    ]


def stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


class ChannelState:
    """Identity, state and variables of one simulated channel."""

    def __init__(
        self,
        uuid: str,
        *,
        name: str,
        created: float,
        answered: bool,
        direction: str = "outbound",
        destination: str = "callflow",
        caller_id_name: str = "Simulated Caller",
        caller_id_number: str = "0000000000",
        context: str = "default",
        source: str = "mod_loopback",
    ) -> None:
        self.uuid = uuid
        self.name = name
        self.direction = direction
        self.destination = destination
        self.caller_id_name = caller_id_name
        self.caller_id_number = caller_id_number
        self.context = context
        self.source = source
        self.created = created
        self.answered_at = created if answered else 0.0
        self.hangup_at = 0.0
        self.state_number = CS_EXECUTE
        self.running_state = CS_EXECUTE
        self.call_state = "ACTIVE" if answered else "RINGING"
        self.hangup_cause: str | None = None
        self.variables = Variables()
        self.digits_dialed = ""
        self.last_app = ""
        self.last_arg = ""

    # -- state ---------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        return self.hangup_cause is None

    @property
    def answer_state(self) -> str:
        if self.hangup_cause is not None:
            return "hangup"
        return "answered" if self.answered_at else "ringing"

    def mark_hangup(self, cause: str) -> None:
        self.hangup_cause = cause
        self.state_number = CS_HANGUP

    def set_running_state(self, number: int) -> None:
        self.state_number = self.running_state = number

    # -- header blocks -------------------------------------------------------------------

    def profile(self, prefix: str) -> list[tuple[str, str]]:
        """The caller profile (switch_caller_profile_event_set_data) under `prefix`."""
        number = self.caller_id_number
        return caller_profile(
            prefix, direction=self.direction, dialplan="xml", caller_id_name=self.caller_id_name,
            caller_id_number=number, orig_caller_id_number=number, callee_id_name=None,
            callee_id_number=number, ani=number, destination=self.destination, uuid=self.uuid,
            source=self.source, context=self.context, name=self.name, created=self.created,
            answered=self.answered_at, progress=0.0, hangup=self.hangup_at, keep_empty=True,
        )  # fmt: skip

    def basic(self) -> list[tuple[str, str]]:
        """switch_channel_event_set_basic_data, then the caller profile."""
        headers = [
            ("Channel-State", STATE_NAMES[self.running_state]),
            ("Channel-Call-State", self.call_state),
            ("Channel-State-Number", str(self.state_number)),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true"),
            ("Channel-Call-UUID", self.uuid),
            ("Answer-State", self.answer_state),
        ]
        if self.hangup_cause is not None:
            headers.append(("Hangup-Cause", self.hangup_cause))
        codec = self.variables.get("read_codec") or "L16"
        rate = self.variables.get("read_rate") or "8000"
        bit_rate = str(int(rate) * 16) if rate.isdigit() else "128000"
        for side in ("Read", "Write"):
            headers += [
                (f"Channel-{side}-Codec-Name", codec),
                (f"Channel-{side}-Codec-Rate", rate),
                (f"Channel-{side}-Codec-Bit-Rate", bit_rate),
            ]
        return headers + self.profile("Caller")

    def variable_headers(self) -> list[tuple[str, str]]:
        return [(f"variable_{name}", value) for name, value in self.variables]

    # -- the CDR variables FreeSWITCH adds at CS_REPORTING --------------------------------

    def add_cdr_variables(self, end: float) -> None:
        cause = self.hangup_cause or "NORMAL_CLEARING"
        var = self.variables.set
        var("hangup_cause", cause)
        var("hangup_cause_q850", str(HANGUP_CAUSES.get(cause, 0)))
        var("digits_dialed", self.digits_dialed or "none")
        var("start_stamp", stamp(self.created))
        var("profile_start_stamp", stamp(self.created))
        if self.answered_at:
            var("answer_stamp", stamp(self.answered_at))
        var("end_stamp", stamp(end))
        for name, at in (
            ("start", self.created),
            ("profile_start", self.created),
            ("answer", self.answered_at),
            ("bridge", 0.0),
            ("last_hold", 0.0),
        ):
            var(f"{name}_epoch", str(int(at)))
            var(f"{name}_uepoch", _us(at))
        for name in ("hold_accum_seconds", "hold_accum_usec", "hold_accum_ms"):
            var(name, "0")
        for name in ("resurrect", "progress", "progress_media"):
            var(f"{name}_epoch", "0")
            var(f"{name}_uepoch", "0")
        var("end_epoch", str(int(end)))
        var("end_uepoch", _us(end))
        var("last_app", self.last_app)
        var("last_arg", self.last_arg)
        var("caller_id", f'"{self.caller_id_name}" <{self.caller_id_number}>')
        total = max(0.0, end - self.created)
        bill = max(0.0, end - self.answered_at) if self.answered_at else 0.0
        answer_wait = max(0.0, self.answered_at - self.created) if self.answered_at else 0.0
        for unit, scale in (("sec", 1), ("msec", 1000), ("usec", 1_000_000)):
            prefix = {"sec": "", "msec": "m", "usec": "u"}[unit]
            var(f"{prefix}duration" if unit != "sec" else "duration", str(int(total * scale)))
            var(f"bill{unit}", str(int(bill * scale)))
            var(f"progress{unit}", "0")
            var(f"answer{unit}", str(int(answer_wait * scale)))
            var(f"wait{unit}", str(int(answer_wait * scale)))
            var(f"progress_media{unit}", "0")
            var(f"flow_bill{unit}", str(int(bill * scale)))
        if self.name.startswith("loopback/"):
            var("is_loopback", "1")
