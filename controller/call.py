"""What a node sees of a call: its channel, its variables, and helpers to read them safely.

Variables (see `controller.templates` for the names):
- `sys.*`: facts about the call, computed when read (`sys.now` is the time of reading);
- `contact.*`: the contact's fields, `contact.customAttributes.*` its extra attributes
  (`controller.contacts` says where they come from);
- anything else: a flow variable set by an earlier node.

Reading a variable that is not set gives None, which a template renders as empty text; the
engine records each such read in the call's record (`unsetReads`) so it can be found later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller import logs
from controller.audio import resolve_audio
from controller.esl.channel import Channel
from controller.exceptions import NodeError
from controller.flows.model import Flow, Node
from controller.records import CallRecord, utc_now
from controller.speech.dictionary import Dictionaries
from controller.templates import render

if TYPE_CHECKING:
    from controller.dialer import Dialer


@dataclass(frozen=True, slots=True)
class CallSettings:
    """The parts of the controller's configuration a running call needs."""

    audio_root: Path
    recordings_dir: Path
    command_timeout: float = 5.0
    media_timeout: float = 600.0  # longest single prompt or recording we wait for
    dictionaries: Dictionaries = field(default_factory=lambda: Dictionaries(Path("audio")))
    gateway: str = "default"
    dial_string: str = "sofia/gateway/{{gateway}}/{{destination}}"


@dataclass(slots=True)
class Call:
    """A call being run. `channel` is None until an outbound call's dial node is answered (and
    again None after a failed dial: there is no call then, only the flow's bookkeeping)."""

    id: str
    flow: Flow
    channel: Channel | None
    settings: CallSettings
    record: CallRecord
    contact: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    node: Node | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    unset_reads: set[str] = field(default_factory=set)
    dialer: Dialer | None = None
    resume_node: str | None = None  # the dial node whose answered call this socket is
    dial_uuid: str | None = None  # origination uuid for the next dial (then a fresh one)

    def attach(self, channel: Channel, *, call_id: str) -> None:
        """The dialled call was answered: from here on the flow acts on `channel`."""
        self.channel = channel
        self.id = self.record.callId = call_id
        logs.update_call(call_uuid=call_id)  # this greenlet's lines now name the answered call

    @property
    def live_channel(self) -> Channel:
        """The channel, for nodes that act on the call; NodeError when there is none."""
        if self.channel is None:
            raise NodeError(
                "there is no call to act on: this node ran before the call was "
                "placed or after its dial failed"
            )
        return self.channel

    # -- variables --------------------------------------------------------------------------

    def lookup(self, name: str) -> Any:
        """The value of a variable name, or None when it is not set."""
        namespace, _, rest = name.partition(".")
        if namespace == "sys":
            value = self._system(rest)
        elif namespace == "contact":
            value = _dig(self.contact, rest.split("."))
        else:
            value = self.variables.get(name)
        if value is None:
            self.unset_reads.add(name)
        return value

    def _system(self, name: str) -> Any:
        channel_vars = self.channel.variables if self.channel is not None else {}
        return {
            "callId": self.id,
            "contactPhone": self.contact.get("phone"),
            "callerIdNumber": channel_vars.get("caller_id_number")
            or channel_vars.get("Caller-Caller-ID-Number"),
            "destinationNumber": channel_vars.get("destination_number"),
            "direction": self.record.direction,
            "flowId": self.flow.id,
            "flowName": self.flow.name,
            "flowVersion": self.flow.version,
            "startedAt": self.record.startedAt,
            "now": utc_now() if name == "now" else None,
        }.get(name)

    def render(self, template: str) -> str:
        return render(template, self.lookup)

    def value_of(self, value: Any) -> Any:
        """A play item's value: a literal (text is a template) or a source mapping."""
        if isinstance(value, dict):
            source = value["source"]
            if source == "variable":
                return self.lookup(value["variable"])
            if source == "contact":
                return self.lookup("contact." + value["field"])
            return self.lookup("contact.customAttributes." + value["attributeName"])
        return self.render(value) if isinstance(value, str) else value

    def set_variable(self, name: str, value: Any) -> None:
        self.variables[name] = value
        self.record.variables[name] = value

    # -- wiring and audio -------------------------------------------------------------------

    def wired(self, output: str) -> bool:
        """Whether the current node has `output` wired (branches as `branches.<key>`)."""
        if self.node is None:
            return False
        if output.startswith("branches."):
            return output[9:] in self.node.branches
        return output in self.node.outputs

    @property
    def type_ahead(self) -> bool:
        return bool(self.flow.settings.get("typeAhead", True))

    @property
    def language(self) -> str:
        return str(self.flow.settings.get("language", "en"))

    def recording_path(self, name: str) -> str:
        """Absolute path for a new recording `<call id>-<name>.wav`, directly inside the
        recordings root. The call id is FreeSWITCH's uuid, checked all the same (a dialplan
        may choose it): anything but letters, digits, `_`, `.`, `:` and `-` is a NodeError."""
        stem = f"{self.id}-{name}"
        if not _FILE_STEM.fullmatch(stem) or ".." in stem:
            raise NodeError(f"cannot name a recording after {stem!r}: not a plain file name")
        return str(self.settings.recordings_dir.resolve() / f"{stem}.wav")

    def audio_file(self, audio_id: str, language: str | None = None) -> str:
        """Absolute path of an audio file inside the audio root, or NodeError."""
        path = resolve_audio(self.settings.audio_root, audio_id, language or self.language)
        if path is None:
            raise NodeError(f"audio {audio_id!r} not found under {self.settings.audio_root}")
        return str(path)


_FILE_STEM = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


def _dig(data: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
