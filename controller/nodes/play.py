"""Play: plays audio to the caller — recorded files and spoken numbers, dates and words.

All items play as one `file_string://` so there is no gap between them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from controller.esl import apps
from controller.exceptions import NodeError
from controller.nodes.base import AudioUse, VariableRead
from controller.nodes.schema_parts import audio_items, item_audio, item_reads, item_spoken
from controller.speech.base import SpeechError
from controller.speech.compose import files_for, tokens_for
from controller.speech.dictionary import DictionaryError

if TYPE_CHECKING:
    from controller.call import Call

NEEDS_CALL = True  # acts on the channel: cannot run before a dial or after a failed one
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


def spoken(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    return item_spoken(config["audioItems"], "/audioItems")


def audio_paths(call: Call, items: list[dict[str, Any]]) -> list[str]:
    """The files that play `items`, all checked to exist inside the audio root."""
    paths = []
    for item in items:
        if item["type"] == "audioFile":
            paths.append(call.audio_file(item["audioId"], item["language"]))
            continue
        # A number, date or word: clips from the language's dictionary (dynamic audio).
        language = item["language"] or call.language
        value = call.value_of(item["value"])
        try:
            tokens = tokens_for(item, value, language)
            paths.extend(files_for(tokens, call.settings.dictionaries.get(language)))
        except (SpeechError, DictionaryError) as exc:
            raise NodeError(
                f"cannot speak {item['type']} {value!r} in {language!r}: {exc}"
            ) from None
    return paths


def run(call: Call, config: dict[str, Any]) -> str:
    paths = audio_paths(call, config["audioItems"])
    channel, timeout = call.live_channel, call.settings.command_timeout
    if config["interruptible"]:
        apps.set_variable(channel, name="playback_terminators", value="any", timeout=timeout)
    result = apps.playback(channel, files=paths, timeout=call.settings.media_timeout)
    if config["interruptible"]:
        apps.set_variable(channel, name="playback_terminators", value="none", timeout=timeout)
    if not result.played:
        raise NodeError(f"playback failed: {result.response or 'no response'}")
    return "onComplete"
