"""Play: plays audio to the caller — recorded files and spoken numbers, dates and words.

All items play as one `file_string://` so there is no gap between them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from controller.nodes.base import AudioUse, VariableRead
from controller.nodes.schema_parts import audio_items, item_audio, item_reads

OUTPUTS = ("onComplete", "onError", "default")

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["audioItems"],
    "properties": {
        "audioItems": audio_items("What to play, in order, without gaps.", required=True),
        "interruptible": {
            "type": "boolean",
            "default": False,
            "description": "A key press stops the prompt (barge-in).",
        },
    },
}


def reads(config: dict[str, Any]) -> Iterator[VariableRead]:
    return item_reads(config["audioItems"], "/audioItems")


def audio(config: dict[str, Any]) -> Iterator[AudioUse]:
    return item_audio(config["audioItems"], "/audioItems")
