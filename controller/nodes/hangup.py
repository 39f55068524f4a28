"""Hangup: ends the call — a terminal node with no outputs.

`hangupType` picks the FreeSWITCH hangup cause sent (`hangupCause` overrides it); `reason` is
free text kept in the call's record as its final result. After a failed dial there is no
channel, and hangup only marks the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controller.hangup_causes import HANGUP_CAUSES

if TYPE_CHECKING:
    from controller.call import Call

OUTPUTS: tuple[str, ...] = ()

HANGUP_TYPES: dict[str, str] = {
    "normal": "NORMAL_CLEARING",
    "voicemail": "NORMAL_CLEARING",
    "no_answer": "NORMAL_CLEARING",
    "timeout": "NORMAL_CLEARING",
    "busy": "USER_BUSY",
    "rejected": "CALL_REJECTED",
    "error": "NORMAL_TEMPORARY_FAILURE",
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "reason": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_.:-]{1,64}$",
            "default": "completed",
            "description": "The call's final result in its record (e.g. completed, voicemail).",
        },
        "hangupType": {
            "enum": list(HANGUP_TYPES),
            "default": "normal",
            "description": "Kind of ending; sets the hangup cause: "
            + ", ".join(f"{k} → {v}" for k, v in HANGUP_TYPES.items())
            + ".",
        },
        "hangupCause": {
            "enum": [None, *HANGUP_CAUSES],
            "default": None,
            "description": "An explicit FreeSWITCH hangup cause, overriding `hangupType`.",
        },
    },
}


def cause_for(config: dict[str, Any]) -> str:
    """The FreeSWITCH hangup cause this node sends."""
    return config["hangupCause"] or HANGUP_TYPES[config["hangupType"]]


def run(call: Call, config: dict[str, Any]) -> str:
    call.record.result = config["reason"]
    if call.channel is not None:  # after a failed dial there is no call: a result marker only
        call.channel.hangup(cause_for(config), timeout=call.settings.command_timeout)
    return ""
