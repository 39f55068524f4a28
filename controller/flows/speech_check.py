"""Checks of number, date and word items against the rules and dictionaries of their language.

A literal value is composed at load exactly as a call would compose it: a value that cannot
be spoken, or a word the dictionary does not have, is an error; a clip missing for it is a
warning. A value read from data (a variable, a contact field) is only known per call, so every
token its language can produce must have a clip: the missing ones are reported once per
language, as a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from controller.flows.problems import Problem, error, warning
from controller.nodes import NODE_TYPES
from controller.nodes.base import NodeSpec
from controller.speech.base import SpeechError
from controller.speech.compose import language_module, tokens_for
from controller.speech.dictionary import Dictionaries, DictionaryError

SHOWN = 8  # missing tokens listed in one message


def _shown(tokens: list[str]) -> str:
    more = f" and {len(tokens) - SHOWN} more" if len(tokens) > SHOWN else ""
    return ", ".join(tokens[:SHOWN]) + more


def speech_problems(
    specs: list[NodeSpec], audio_root: Path, default_language: str | None
) -> Iterator[Problem]:
    dictionaries = Dictionaries(audio_root)
    checked_languages: set[str] = set()
    for spec in specs:
        for where, item in NODE_TYPES[spec.type].spoken(spec.config):
            pointer = f"{spec.pointer}/config{where}"
            language = item.get("language") or default_language or "en"
            try:
                dictionary = dictionaries.get(language)
            except DictionaryError as exc:
                yield error("bad-dictionary", str(exc), pointer=pointer)
                continue
            value = item["value"]
            from_data = isinstance(value, dict) or (isinstance(value, str) and "{{" in value)
            if item["type"] == "word":
                if not from_data and str(value) not in dictionary.clips:
                    yield error(
                        "unknown-word",
                        f"{value!r} is not in the {language!r} "
                        f"dictionary ({language}/manifest.yaml under the audio root)",
                        pointer=pointer + "/value",
                    )
                continue
            try:
                rules = language_module(language)
            except SpeechError as exc:
                yield error("no-speech-rules", str(exc), pointer=pointer + "/language")
                continue
            if from_data:
                if language not in checked_languages:
                    checked_languages.add(language)
                    missing = dictionary.missing(rules.TOKENS)
                    if missing:
                        yield warning(
                            "missing-clip",
                            f"the {language!r} dictionary has no clip for {len(missing)} "
                            f"token(s) a value could need: {_shown(missing)}",
                            pointer=pointer,
                        )
                continue
            try:
                tokens = tokens_for(item, value, language)
            except SpeechError as exc:
                yield error(
                    "unspeakable-value",
                    f"cannot speak {value!r}: {exc}",
                    pointer=pointer + "/value",
                )
                continue
            missing = dictionary.missing(set(tokens))
            if missing:
                yield warning(
                    "missing-clip",
                    f"the {language!r} dictionary has no clip for "
                    f"{_shown(missing)} (needed to say {value!r})",
                    pointer=pointer,
                )
