"""Dictionaries for tests: a silent clip per token, written where a test wants them."""

from __future__ import annotations

import re
import shutil
import wave
from collections.abc import Iterable
from pathlib import Path

import yaml

from controller.speech.compose import language_module

REPO = Path(__file__).resolve().parents[2]


def write_dictionary(root: Path, language: str, tokens: Iterable[str] | None = None) -> Path:
    """audio/<language>/manifest.yaml and a 20 ms silent WAV per token (all by default)."""
    folder = root / language
    clips = {}
    for token in sorted(tokens if tokens is not None else language_module(language).TOKENS):
        name = "clips/" + re.sub(r"[^A-Za-z0-9_.-]", "_", token)
        path = folder / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as clip:
            clip.setnchannels(1)
            clip.setsampwidth(2)
            clip.setframerate(8000)
            clip.writeframes(b"\0\0" * 160)
        clips[token] = name
    (folder / "manifest.yaml").write_text(yaml.safe_dump({"clips": clips}, sort_keys=True))
    return folder


WORDS = ("vip", "standard", "hello", "merci")  # word-item keys the example flows use


def audio_root_with_dictionaries(
    target: Path, languages: Iterable[str] = ("ar", "fr", "en")
) -> Path:
    """A copy of the repository's audio/ (its prompts) plus complete test dictionaries."""
    shutil.copytree(REPO / "audio", target, ignore=shutil.ignore_patterns("ar", "fr", "en"))
    for language in languages:
        write_dictionary(target, language, {*language_module(language).TOKENS, *WORDS})
    return target
