"""Event header blocks, built the way FreeSWITCH builds them (order copied from the recordings).

Every channel event is: an optional lead (PRIVATE_COMMAND starts with the sendmsg it echoes),
the core headers (Event-Name ... Event-Sequence, with the file/function/line FreeSWITCH
reports for that event), event-specific headers that FreeSWITCH adds first (`pre`), the
channel's basic data and caller profile, the channel variables for the event types that carry
them, then event-specific headers added last (`post`: Application, Playback-File-Path, ...).
Timestamps come from the call's clock, so simulated time shows in Event-Date-Timestamp.
"""

from __future__ import annotations

import itertools
import time
import uuid as uuidlib
from collections.abc import Sequence

from controller.esl.serialize import encode_event_json, encode_event_plain
from controller.simulator.channel_state import ChannelState

Headers = list[tuple[str, str]]

# name: (file, function, line, carries channel variables)
SPECS: dict[str, tuple[str, str, int, bool]] = {
    "CHANNEL_DATA": ("mod_event_socket.c", "parse_command", 2029, True),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", 2949, True),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", 2972, True),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3447, True),
    "CHANNEL_HANGUP_COMPLETE": (
        "switch_core_state_machine.c",
        "switch_core_session_reporting_state",
        943,
        True,
    ),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", 1002, True),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", 1213, True),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", 2409, False),
    "CHANNEL_CALLSTATE": ("switch_channel.c", "switch_channel_perform_set_callstate", 302, False),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3848, True),
    "CODEC": ("switch_core_codec.c", "switch_core_session_set_read_codec", 300, False),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", 678, False),
    "MEDIA_BUG_START": ("switch_core_media_bug.c", "switch_core_media_bug_add", 1014, True),
    "MEDIA_BUG_STOP": ("switch_core_media_bug.c", "switch_core_media_bug_destroy", 84, True),
    "PLAYBACK_START": ("switch_ivr_play_say.c", "switch_ivr_play_file", 1649, True),
    "PLAYBACK_STOP": ("switch_ivr_play_say.c", "switch_ivr_play_file", 2023, True),
    "PRIVATE_COMMAND": ("switch_ivr.c", "switch_ivr_parse_next_event", 804, False),
    "RECORD_START": ("switch_ivr_play_say.c", "switch_ivr_record_file_event", 770, True),
    "RECORD_STOP": ("switch_ivr_play_say.c", "switch_ivr_record_file_event", 1033, True),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", 1580, False),
}
# record_session's events come from the media bug, not from switch_ivr_record_file.
SESSION_RECORD_START = ("switch_ivr_async.c", "record_callback", 1482)
SESSION_RECORD_STOP = ("switch_ivr_async.c", "send_record_stop_event", 1241)

# switch_event.c's names, for `event plain <NAME ...>` (switch_name_event is case-insensitive).
EVENT_NAMES = frozenset(
    [
        "CUSTOM",
        "CLONE",
        "CHANNEL_CREATE",
        "CHANNEL_DESTROY",
        "CHANNEL_STATE",
        "CHANNEL_CALLSTATE",
        "CHANNEL_ANSWER",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HOLD",
        "CHANNEL_UNHOLD",
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_UNPARK",
        "CHANNEL_APPLICATION",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "API",
        "LOG",
        "INBOUND_CHAN",
        "OUTBOUND_CHAN",
        "STARTUP",
        "SHUTDOWN",
        "PUBLISH",
        "UNPUBLISH",
        "TALK",
        "NOTALK",
        "SESSION_CRASH",
        "MODULE_LOAD",
        "MODULE_UNLOAD",
        "DTMF",
        "MESSAGE",
        "PRESENCE_IN",
        "NOTIFY_IN",
        "PRESENCE_OUT",
        "PRESENCE_PROBE",
        "MESSAGE_WAITING",
        "MESSAGE_QUERY",
        "ROSTER",
        "CODEC",
        "BACKGROUND_JOB",
        "DETECTED_SPEECH",
        "DETECTED_TONE",
        "PRIVATE_COMMAND",
        "HEARTBEAT",
        "TRAP",
        "ADD_SCHEDULE",
        "DEL_SCHEDULE",
        "EXE_SCHEDULE",
        "RE_SCHEDULE",
        "RELOADXML",
        "NOTIFY",
        "PHONE_FEATURE",
        "PHONE_FEATURE_SUBSCRIBE",
        "SEND_MESSAGE",
        "RECV_MESSAGE",
        "REQUEST_PARAMS",
        "CHANNEL_DATA",
        "GENERAL",
        "COMMAND",
        "SESSION_HEARTBEAT",
        "CLIENT_DISCONNECTED",
        "SERVER_DISCONNECTED",
        "SEND_INFO",
        "RECV_INFO",
        "RECV_RTCP_MESSAGE",
        "SEND_RTCP_MESSAGE",
        "CALL_SECURE",
        "NAT",
        "RECORD_START",
        "RECORD_STOP",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CALL_UPDATE",
        "FAILURE",
        "SOCKET_DATA",
        "MEDIA_BUG_START",
        "MEDIA_BUG_STOP",
        "CONFERENCE_DATA_QUERY",
        "CONFERENCE_DATA",
        "CALL_SETUP_REQ",
        "CALL_SETUP_RESULT",
        "CALL_DETAIL",
        "DEVICE_STATE",
        "TEXT",
        "SHUTDOWN_REQUESTED",
        "ALL",
    ]
)


def event_name(word: str) -> str | None:
    """switch_name_event: the canonical name for `word` (also with a SWITCH_EVENT_ prefix)."""
    upper = word.upper()
    if upper.startswith("SWITCH_EVENT_") and len(upper) > 13:
        upper = upper[13:]
    return upper if upper in EVENT_NAMES else None


class SimEvent:
    """One fired event: its headers once, its wire encodings on demand (one per format)."""

    __slots__ = ("_json", "_plain", "body", "headers", "name", "subclass", "uuid")

    def __init__(
        self,
        name: str,
        uuid: str | None,
        headers: Headers,
        body: str | None = None,
        subclass: str | None = None,
    ) -> None:
        self.name = name
        self.uuid = uuid
        self.headers = headers
        self.body = body
        self.subclass = subclass
        self._plain: bytes | None = None
        self._json: bytes | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def encode(self, fmt: str) -> bytes:
        if fmt == "json":
            if self._json is None:
                self._json = encode_event_json(self.headers, self.body)
            return self._json
        if self._plain is None:
            self._plain = encode_event_plain(self.headers, self.body)
        return self._plain


class EventFactory:
    """Per-simulator identity (Core-UUID, host) and the global Event-Sequence."""

    def __init__(
        self,
        hostname: str = "callflow-sim",
        ipv4: str = "127.0.0.1",
        ipv6: str = "::1",
        sequence_start: int = 1000,
    ) -> None:
        self.core_uuid = str(uuidlib.uuid4())
        self.hostname = hostname
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self._sequence = itertools.count(sequence_start)

    def core(self, name: str, now: float, calling: Sequence[object]) -> Headers:
        return [
            ("Event-Name", name),
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", self.hostname),
            ("FreeSWITCH-Switchname", self.hostname),
            ("FreeSWITCH-IPv4", self.ipv4),
            ("FreeSWITCH-IPv6", self.ipv6),
            ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))),
            ("Event-Date-GMT", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))),
            ("Event-Date-Timestamp", str(int(now * 1_000_000))),
            ("Event-Calling-File", str(calling[0])),
            ("Event-Calling-Function", str(calling[1])),
            ("Event-Calling-Line-Number", str(calling[2])),
            ("Event-Sequence", str(next(self._sequence))),
        ]

    def channel_event(
        self,
        name: str,
        channel: ChannelState,
        now: float,
        *,
        pre: Sequence[tuple[str, str]] = (),
        post: Sequence[tuple[str, str]] = (),
        lead: Sequence[tuple[str, str]] = (),
        calling: Sequence[object] | None = None,
        body: str | None = None,
    ) -> SimEvent:
        file, function, line, with_vars = SPECS[name]
        headers = [*lead, *self.core(name, now, calling or (file, function, line)), *pre]
        headers += channel.basic()
        if with_vars:
            headers += channel.variable_headers()
        headers += post
        return SimEvent(name, channel.uuid, headers, body)

    def channel_data(self, channel: ChannelState, now: float) -> Headers:
        """The CHANNEL_DATA block of the `connect` reply (protocol.encode_connect_reply adds
        Content-Type, Reply-Text, Socket-Mode and Control)."""
        file, function, line, _ = SPECS["CHANNEL_DATA"]
        return [
            *self.core("CHANNEL_DATA", now, (file, function, line)),
            *channel.profile("Channel"),
            *channel.basic(),
            *channel.variable_headers(),
        ]

    def background_job(
        self, job: tuple[str, str | None], command: str, arg: str | None, body: str, now: float
    ) -> SimEvent:
        """The result of `bgapi`; from a socket that controls a channel it carries
        Job-Owner-UUID, which is what lets it through that socket's `myevents` filter."""
        headers = self.core("BACKGROUND_JOB", now, SPECS["BACKGROUND_JOB"][:3])
        job_uuid, owner = job
        headers.append(("Job-UUID", job_uuid))
        if owner:
            headers.append(("Job-Owner-UUID", owner))
        headers.append(("Job-Command", command))
        if arg:
            headers.append(("Job-Command-Arg", arg))
        return SimEvent("BACKGROUND_JOB", owner, headers, body)
