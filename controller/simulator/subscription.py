"""Which events a socket receives: mod_event_socket's event_handler, per listener.

`myevents` subscribes to a fixed list of channel events (not PLAYBACK_*, RECORD_*,
PRIVATE_COMMAND, CODEC, CHANNEL_CALLSTATE: those need `event plain ...`) and keeps only the
events of this socket's channel, even after `noevents` and a new `event` command. `event ALL`
includes CUSTOM events of any subclass; `event CUSTOM a::b` only the subclasses named.
`filter <header> <value>` keeps only events with a matching header (`/regex/`, and `-value`
to exclude), as event_handler does.
"""

from __future__ import annotations

import re

from controller.simulator.events import SimEvent, event_name

MYEVENTS = frozenset(
    [
        "CHANNEL_ANSWER",
        "CHANNEL_APPLICATION",
        "CHANNEL_BRIDGE",
        "CHANNEL_CREATE",
        "CHANNEL_DATA",
        "CHANNEL_DESTROY",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_STATE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_UNPARK",
        "DETECTED_SPEECH",
        "DTMF",
        "NOTALK",
        "TALK",
    ]
)


class Subscription:
    """The event part of a listener: flags, names, format, filters."""

    def __init__(self, own_uuid: str) -> None:
        self.own_uuid = own_uuid
        self.enabled = False  # LFLAG_EVENTS
        self.myevents = False  # LFLAG_MYEVENTS
        self.names: set[str] = set()
        self.subclasses: set[str] = set()
        self.format = "plain"
        self.filters: list[tuple[str, str]] = []

    def add_events(self, words: list[str]) -> bool:
        """`event [plain|json|xml] NAME...` (after CUSTOM, the words are subclasses), on the
        outbound and the inbound socket alike. False when no event name was given."""
        keys = 0
        custom = False
        for index, word in enumerate(words):
            if index == 0 and word.lower() in ("plain", "json", "xml"):
                self.format = word.lower()
                continue
            if custom:
                self.subclasses.add(word)
                continue
            name = event_name(word)
            if name is None:
                continue
            keys += 1
            self.names.add(name)
            custom = custom or name == "CUSTOM"
        if keys:
            self.enabled = True
        return bool(keys)

    def wants_name(self, name: str) -> bool:
        """Cheap pre-check (before an event is built)."""
        return self.enabled and ("ALL" in self.names or name in self.names)

    def accepts(self, event: SimEvent) -> bool:
        if not self.enabled:
            return False
        if "ALL" not in self.names:
            if event.name not in self.names:
                return False
            if event.name == "CUSTOM" and event.subclass and event.subclass not in self.subclasses:
                return False
        if self.filters and not self._filtered_in(event):
            return False
        return not self.myevents or event.uuid == self.own_uuid

    def _filtered_in(self, event: SimEvent) -> bool:
        send = False
        for name, value in self.filters:
            have = event.header(name)
            if have is None:
                continue
            positive = True
            compare = value
            while compare[:1] in ("+", "-", " "):
                positive = compare[0] != "-" if compare[0] != " " else positive
                compare = compare[1:]
            if send and positive:
                continue
            if value.startswith("/"):
                try:
                    matched = re.search(compare.strip("/"), have) is not None
                except re.error:
                    matched = False
            else:
                matched = have.lower() == compare.lower()
            if matched:
                if not positive:
                    return False
                send = True
        return send

    def enable_myevents(self, command: str) -> None:
        self.myevents = self.enabled = True
        self.names |= MYEVENTS
        if "xml" in command or "XML" in command:
            self.format = "xml"
        if "json" in command or "JSON" in command:
            self.format = "json"

    def clear(self) -> None:
        """noevents: nothing subscribed (the myevents filter stays)."""
        self.enabled = False
        self.names.clear()
        self.subclasses.clear()
