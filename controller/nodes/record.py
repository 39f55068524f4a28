"""Record: records the caller's voice into the recordings directory.

onComplete when the caller stops (silence or a terminator key), onTimeout when the maximum
duration was reached. The recording's path is stored in a flow variable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from controller.esl import apps
from controller.exceptions import NodeError
from controller.nodes.schema_parts import flow_variable, milliseconds

if TYPE_CHECKING:
    from controller.call import Call


NEEDS_CALL = True  # acts on the channel: cannot run before a dial or after a failed one
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


def run(call: Call, config: dict[str, Any]) -> str:
    directory = call.settings.recordings_dir
    if not directory.is_dir() or not os.access(directory, os.W_OK):
        # FreeSWITCH hangs up the call when it cannot write the file: never send that.
        raise NodeError(f"recordings directory {directory} is not writable")
    node_id = call.node.id if call.node else "record"
    path = call.recording_path(f"{node_id}-{len(call.record.recordings) + 1}")
    channel = call.live_channel
    if config["beep"]:
        apps.playback(channel, files=[apps.BEEP], timeout=call.settings.command_timeout)
    # Listed before recording starts: a caller who hangs up mid-message leaves a file.
    call.record.recordings.append(path)
    call.set_variable(config["variable"], path)
    result = apps.record(
        channel,
        path=path,
        max_seconds=math.ceil(config["maxDuration"] / 1000),
        silence_threshold=config["silenceThreshold"],
        silence_seconds=math.ceil(config["silenceDuration"] / 1000),
        terminators=config["terminators"],
        timeout=config["maxDuration"] / 1000 + call.settings.media_timeout,
    )
    return "onTimeout" if result.stopped_by == "limit" else "onComplete"
