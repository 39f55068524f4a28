"""Record: records the caller's voice into the recordings directory.

onComplete when the caller stops (silence or a terminator key), onTimeout when the maximum
duration was reached. The recording's path is stored in a flow variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from controller.nodes.schema_parts import flow_variable, milliseconds

OUTPUTS = ("onComplete", "onTimeout", "onError", "default")

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "maxDuration": milliseconds("Longest recording", 60000, 1000, 3600000),
        "silenceThreshold": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10000,
            "default": 200,
            "description": "Energy level below which audio counts as silence.",
        },
        "silenceDuration": milliseconds("Silence that ends the recording", 3000, 500, 60000),
        "beep": {
            "type": "boolean",
            "default": True,
            "description": "Play a beep before recording starts.",
        },
        "terminators": {
            "type": "string",
            "pattern": "^[0-9*#]{0,4}$",
            "default": "#",
            "description": "Keys that stop the recording; '' for none.",
        },
        "variable": flow_variable(
            "Flow variable that receives the recording's path.", "recordingPath"
        ),
    },
}


def writes(config: dict[str, Any]) -> Iterator[str]:
    yield config["variable"]
