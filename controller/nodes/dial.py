"""Dial: places the outbound call, optionally telling a human from an answering machine.

Outcomes map onto outputs from FreeSWITCH's hangup causes (the runtime documents the table);
with `enableAMD`, a human goes to onAnswer and a machine to onVoicemail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from controller import amd, metrics
from controller.dialer import DialRequest
from controller.esl.expansion import runs_its_value
from controller.exceptions import CallHandedOff, NodeError
from controller.flows.problems import Problem, error, pointer_of
from controller.nodes.base import NodeSpec, template_strings
from controller.nodes.schema_parts import milliseconds
from controller.templates import render

if TYPE_CHECKING:
    from controller.call import Call

OUTPUTS = ("onAnswer", "onVoicemail", "onNoAnswer", "onBusy", "onRejected", "onError", "default")

_AMD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "default": {},
    "description": "Answering-machine detection tuning, in the manner of Asterisk's AMD. "
    "The defaults suit most lines.",
    "properties": {
        "engine": {
            "enum": ["builtin", "mod_amd"],
            "default": "builtin",
            "description": "`builtin` uses FreeSWITCH's core audio-detection apps; `mod_amd` "
            "uses the voice_amd module where it is installed.",
        },
        "initialSilence": milliseconds(
            "Silence before any speech after which the answerer is taken for a machine",
            2500,
            500,
            10000,
        ),
        "greeting": milliseconds(
            "Speech longer than this is a machine's greeting", 1500, 500, 10000
        ),
        "afterGreetingSilence": milliseconds(
            "Silence after a short greeting that marks a human", 800, 100, 5000
        ),
        "totalAnalysisTime": milliseconds(
            "Longest the analysis may take; undecided then counts as human", 5000, 1000, 30000
        ),
        "minWordLength": milliseconds("Shortest speech that counts as a word", 100, 20, 1000),
        "betweenWordsSilence": milliseconds("Silence that separates two words", 50, 20, 1000),
        "maximumNumberOfWords": {
            "type": "integer",
            "minimum": 1,
            "maximum": 20,
            "default": 3,
            "description": "More words than this in the greeting means a machine.",
        },
        "silenceThreshold": {
            "type": "integer",
            "minimum": 1,
            "maximum": 32767,
            "default": 256,
            "description": "Energy level at or below which a frame is silence, on Asterisk's "
            "scale (FreeSWITCH's detectors are passed half of it: they score a mono frame at "
            "about half its level).",
        },
        "waitForBeep": {
            "type": "boolean",
            "default": False,
            "description": "On a machine, wait for the voicemail beep (mod_avmd) before "
            "taking onVoicemail, so a message lands on the recording.",
        },
        "beepTimeout": milliseconds(
            "Longest wait for the beep before taking onVoicemail anyway", 20000, 1000, 120000
        ),
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "destination": {
            "type": "string",
            "minLength": 1,
            "default": "{{contact.phone}}",
            "description": "Number to call, a template; by default the contact's phone.",
        },
        "timeout": milliseconds("How long to let it ring before onNoAnswer", 30000, 1000, 300000),
        "enableAMD": {
            "type": "boolean",
            "default": False,
            "description": "Detect answering machines: humans take onAnswer, machines onVoicemail.",
        },
        "amd": _AMD_SCHEMA,
        "gateway": {
            "type": ["string", "null"],
            "pattern": "^[A-Za-z0-9_.-]+$",
            "default": None,
            "description": "FreeSWITCH gateway name (`sofia/gateway/<gateway>/<destination>`); "
            "null uses the controller's configured dial string.",
        },
        "dialString": {
            "type": ["string", "null"],
            "default": None,
            "description": "Full endpoint template, e.g. `sofia/gateway/gw1/{{destination}}`; "
            "overrides `gateway`.",
        },
        "callerIdNumber": {
            "type": ["string", "null"],
            "default": None,
            "description": "Caller id number shown to the callee (template); null keeps "
            "FreeSWITCH's.",
        },
        "callerIdName": {
            "type": ["string", "null"],
            "default": None,
            "description": "Caller id name shown to the callee (template).",
        },
        "variables": {
            "type": "object",
            "default": {},
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "Extra channel variables set on the call (values are templates).",
        },
    },
}

TEMPLATE_FIELDS = ("destination", "callerIdNumber", "callerIdName", "variables")
# In `dialString`, {{destination}} and {{gateway}} are the dial's own values, not variables.
_DIAL_STRING_NAMES = re.compile(r"\{\{\s*(destination|gateway)\s*\}\}")


def check(node: NodeSpec) -> Iterator[Problem]:
    for name in node.config["variables"]:
        if runs_its_value(name):
            yield error(
                "reserved-variable",
                f"{name!r}: FreeSWITCH runs this variable's value as a command, so a flow "
                "may not set it",
                pointer=pointer_of(
                    *node.pointer.strip("/").split("/"), "config", "variables", name
                ),
                node=node.id,
            )


def templates(config: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield from template_strings(config, TEMPLATE_FIELDS)
    if config["dialString"]:
        yield "/dialString", _DIAL_STRING_NAMES.sub("", config["dialString"])


# FreeSWITCH hangup cause -> output, for dials that end without a call. Anything else takes
# onError, with the cause in the call's record.
CAUSE_OUTPUTS: dict[str, str] = {
    "USER_BUSY": "onBusy",
    "NO_ANSWER": "onNoAnswer",
    "ALLOTTED_TIMEOUT": "onNoAnswer",
    "NO_USER_RESPONSE": "onNoAnswer",
    "SUBSCRIBER_ABSENT": "onNoAnswer",
    "CALL_REJECTED": "onRejected",
    "FACILITY_REJECTED": "onRejected",
    "OUTGOING_CALL_BARRED": "onRejected",
    "INCOMING_CALL_BARRED": "onRejected",
    "USER_CHALLENGE": "onRejected",
}
# Outputs taken without a call: only nodes that need no channel may follow them.
FAILED_DIAL_OUTPUTS = ("onNoAnswer", "onBusy", "onRejected", "onError")
ANSWER_GRACE_SECONDS = 15.0


def _state(call: Call, node_id: str) -> dict[str, Any]:
    """What the call needs if its socket lands on another callflow process."""
    record = call.record
    return {
        "flowId": call.flow.id,
        "flowVersion": call.flow.version,
        "resume": node_id,
        "contact": call.contact,
        "variables": call.variables,
        "path": [asdict(step) for step in record.path[:-1]],
        "startedAt": record.startedAt,
    }


def _request(call: Call, config: dict[str, Any], node_id: str) -> DialRequest:
    destination = call.render(config["destination"]).strip()
    gateway = config["gateway"] or call.settings.gateway
    template = config["dialString"] or call.settings.dial_string
    dial_string = render(
        template,
        lambda name: (
            {"destination": destination, "gateway": gateway}.get(name) or call.lookup(name)
        ),
    )
    return DialRequest(
        destination=destination,
        dial_string=dial_string,
        timeout_ms=config["timeout"],
        caller_id_number=call.render(config["callerIdNumber"])
        if config["callerIdNumber"]
        else None,
        caller_id_name=call.render(config["callerIdName"]) if config["callerIdName"] else None,
        variables={name: call.render(str(value)) for name, value in config["variables"].items()},
        state=_state(call, node_id),
    )


def _after_answer(call: Call, config: dict[str, Any]) -> str:
    if not config["enableAMD"]:
        return "onAnswer"
    channel = call.live_channel
    amd_config = config["amd"]
    result = amd.detect(
        channel,
        config=amd_config,
        timeout=amd_config["totalAnalysisTime"] / 1000 + ANSWER_GRACE_SECONDS,
    )
    verdict: dict[str, Any] = {
        "verdict": result.verdict,
        "reason": result.reason,
        "decisionMs": result.decision_ms,
        "words": result.words,
    }
    call.record.dial = {**(call.record.dial or {}), "amd": verdict}
    metrics.AMD_VERDICTS.labels(result.verdict, result.reason).inc()
    metrics.AMD_SECONDS.observe(result.decision_ms / 1000)
    if result.verdict != "machine":
        if amd_config["waitForBeep"]:
            # A beep heard after a "human" verdict is evidence of a machine: recorded.
            def late_beep(after_ms: int) -> None:
                verdict["beepAfterVerdict"] = {"afterMs": after_ms}

            verdict["watchingForBeep"] = amd.watch_for_beep(channel, on_beep=late_beep)
        return "onAnswer"  # "notsure" is treated as a person: never play a menu to nobody
    if amd_config["waitForBeep"]:
        beep = amd.wait_for_beep(channel, timeout=amd_config["beepTimeout"] / 1000)
        verdict["beep"] = {
            "heard": beep.heard,
            "afterMs": beep.after_ms,
            "available": beep.available,
        }
    return "onVoicemail"


def run(call: Call, config: dict[str, Any]) -> str:
    node_id = call.node.id if call.node else "dial"
    if call.channel is not None:
        if call.resume_node != node_id:
            raise NodeError("dial places a new call; this flow is already on one")
        call.resume_node = None  # the answered call's socket reached us: carry on
        return _after_answer(call, config)
    if call.dialer is None:
        raise NodeError("outbound calls need FreeSWITCH's event socket (esl_* settings)")
    uuid, call.dial_uuid = call.dial_uuid, None  # a second dial gets a uuid of its own
    outcome = call.dialer.dial(
        _request(call, config, node_id),
        wait_timeout=config["timeout"] / 1000 + ANSWER_GRACE_SECONDS,
        uuid=uuid,
    )
    call.record.dial = {
        "uuid": outcome.uuid,
        "cause": outcome.cause,
        "ringMs": outcome.ring_ms,
        "throttled": outcome.throttled,
    }
    cause = (
        "HANDED_OFF"
        if outcome.handed_off
        else "ANSWERED"
        if outcome.channel
        else outcome.cause or "UNSPECIFIED"
    )
    metrics.DIALS.labels(cause).inc()
    if outcome.throttled:
        metrics.DIALS_THROTTLED.inc()
    if outcome.handed_off:
        raise CallHandedOff(f"call {outcome.uuid} is handled by another callflow process")
    if outcome.channel is None:
        return CAUSE_OUTPUTS.get(outcome.cause or "", "onError")
    call.attach(outcome.channel, call_id=outcome.uuid)
    return _after_answer(call, config)
