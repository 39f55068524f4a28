"""Dial: places the outbound call, optionally telling a human from an answering machine.

Outcomes map onto outputs from FreeSWITCH's hangup causes (the runtime documents the table);
with `enableAMD`, a human goes to onAnswer and a machine to onVoicemail.
"""

from __future__ import annotations

from typing import Any

from controller.nodes.schema_parts import milliseconds

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
            "description": "Energy score at or below which a frame is silence.",
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

TEMPLATE_FIELDS = ("destination", "dialString", "callerIdNumber", "callerIdName", "variables")
