"""The dialplan applications the simulator knows, by name (mod_dptools behaviour).

An application is `function(session, expanded_arg)`; it reports a result through channel
variables (`current_application_response` becomes Application-Response, else `_none_`).
A name not in APPLICATIONS is an unknown application: FreeSWITCH hangs the channel up with
DESTINATION_OUT_OF_ORDER and fires no EXECUTE events for it (session.execute_application).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from controller.hangup_causes import HANGUP_CAUSES
from controller.simulator.avmd import avmd, avmd_start, avmd_stop
from controller.simulator.collect import play_and_get_digits, read
from controller.simulator.detect import (
    detect_audio,
    detect_silence,
    voice_amd,
    wait_for_silence,
)
from controller.simulator.dialstring import separate
from controller.simulator.media import playback, sleep
from controller.simulator.recording import record, record_session, stop_record_session

if TYPE_CHECKING:
    from controller.simulator.session import Session

App = Callable[["Session", str], None]


def answer(session: Session, arg: str) -> None:
    """Answer a ringing channel: CHANNEL_ANSWER, then CHANNEL_CALLSTATE RINGING -> ACTIVE."""
    channel = session.channel
    if channel.answered_at or not channel.up:
        return
    channel.answered_at = session.clock.now()
    session.fire("CHANNEL_ANSWER")
    previous, channel.call_state = channel.call_state, "ACTIVE"
    session.fire(
        "CHANNEL_CALLSTATE",
        pre=[("Original-Channel-Call-State", previous), ("Channel-Call-State-Number", "4")],
    )
    channel.variables.set("endpoint_disposition", "ANSWER")


def _assign(session: Session, text: str, *, base_set: bool) -> None:
    """mod_dptools base_set (set, multiset: `name=value` or else `name,value`, the value
    expanded once more after the core expanded the whole argument, so a `\\${...}` the first
    pass left as `${...}` runs here) or export_function (`name=value` only, not expanded
    again). Both store without var_check."""
    separator = "," if base_set and "=" not in text else "="
    name, _, value = text.partition(separator)
    if value and base_set:
        application = session.channel.variables.get("current_application") or "set"
        value = session.expand(value, f"{application} value")
    if name:
        session.channel.variables.set(name, value)  # `x=` (empty) unsets x


def set_variable(session: Session, arg: str) -> None:
    _assign(session, arg, base_set=True)


def export(session: Session, arg: str) -> None:
    """set, and remember the name in export_vars (copied to channels this one creates)."""
    _assign(session, arg, base_set=False)
    name = arg.partition("=")[0]
    exported = session.channel.variables.get("export_vars") or ""
    names = [n for n in exported.split(",") if n]
    if name and name not in names:
        names.append(name)
    session.channel.variables.set("export_vars", ",".join(names))


def unset(session: Session, arg: str) -> None:
    session.channel.variables.delete(arg.strip())


def multiset(session: Session, arg: str) -> None:
    """multiset a=1 b=2, or `^^<delimiter>a=1<delimiter>b=2`: switch_split (quotes group,
    escapes), then base_set on each part."""
    for part in separate(arg, " ", 256):
        _assign(session, part, base_set=True)


def flush_dtmf(session: Session, arg: str) -> None:
    session.timeline.drop_due_digits(session.clock.now())


def hangup(session: Session, arg: str) -> None:
    cause = arg.strip().upper() or "NORMAL_CLEARING"
    session.hangup(
        cause if cause in HANGUP_CAUSES else "NORMAL_CLEARING", by="controller", async_side=False
    )


def nothing(session: Session, arg: str) -> None:
    """Applications whose effect the simulator does not model (log, info, ...)."""


# name (as FreeSWITCH reports it in Application) -> function
_BY_NAME: dict[str, App] = {
    "answer": answer,
    "pre_answer": nothing,
    "ring_ready": nothing,
    "playback": playback,
    "play_and_get_digits": play_and_get_digits,
    "read": read,
    "record": record,
    "record_session": record_session,
    "stop_record_session": stop_record_session,
    "set": set_variable,
    "export": export,
    "unset": unset,
    "multiset": multiset,
    "flush_dtmf": flush_dtmf,
    "hangup": hangup,
    "sleep": sleep,
    "log": nothing,
    "info": nothing,
    "event": nothing,
    "detect_audio": detect_audio,
    "detect_silence": detect_silence,
    "wait_for_silence": wait_for_silence,
    "avmd_start": avmd_start,
    "avmd_stop": avmd_stop,
    "avmd": avmd,
    "voice_amd": voice_amd,  # mod_amd, a third-party module: not in every FreeSWITCH
}
APPLICATIONS: dict[str, tuple[str, App]] = {name: (name, fn) for name, fn in _BY_NAME.items()}
