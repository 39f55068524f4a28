"""A language's dictionary: recorded clips for the tokens numbers, dates and words are made of.

`audio/<language>/manifest.yaml` maps each token to a clip, named like an `audioId` but
relative to the language folder (no extension, no `..`):

    # audio/fr/manifest.yaml
    clips:
      "21": nombres/21
      mille: nombres/mille
      mars: mois/mars
      dirham: mots/dirham      # `word` items use the same keys

Adding a language or a voice is data: a folder and its manifest. Clips are only ever read
from inside the audio root (the same lookup as audio files, symlinks checked).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from controller.audio import AUDIO_ID_PATTERN, resolve_audio
from controller.flows.source import SourceError, read_document

MANIFEST = "manifest.yaml"
_CLIP = re.compile(AUDIO_ID_PATTERN)
_TOKEN = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")


class DictionaryError(ValueError):
    """A manifest that cannot be used; the message names the file and the entry."""


@dataclass(slots=True)
class Dictionary:
    language: str
    root: Path
    clips: dict[str, str] = field(default_factory=dict)  # token -> clip id in the folder

    @classmethod
    def load(cls, root: Path, language: str) -> Dictionary:
        path = root / language / MANIFEST
        dictionary = cls(language, root)
        if not path.is_file():
            return dictionary
        try:
            document, _ = read_document(path)
        except SourceError as exc:
            raise DictionaryError(f"{path}: {exc.message}") from None
        clips = document.data.get("clips", {})
        if not isinstance(clips, dict):
            raise DictionaryError(f"{path}: `clips` must map tokens to clip names")
        for token, clip in clips.items():
            if (
                not _TOKEN.fullmatch(str(token))
                or not isinstance(clip, str)
                or not _CLIP.fullmatch(clip)
            ):
                raise DictionaryError(
                    f"{path}: clips/{token}: {clip!r} is not a clip name inside the language folder"
                )
            dictionary.clips[str(token)] = clip
        return dictionary

    def missing(self, tokens: set[str] | frozenset[str]) -> list[str]:
        """Tokens with no clip in the manifest, or whose file is not there."""
        return sorted(t for t in tokens if self.file(t) is None)

    def file(self, token: str) -> str | None:
        clip = self.clips.get(token)
        if clip is None:
            return None
        path = resolve_audio(self.root, f"{self.language}/{clip}", None)
        return str(path) if path is not None else None


class Dictionaries:
    """The dictionaries under one audio root, loaded once per language."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._loaded: dict[str, Dictionary] = {}
        self._lock = threading.Lock()

    def get(self, language: str) -> Dictionary:
        with self._lock:
            if language not in self._loaded:
                self._loaded[language] = Dictionary.load(self.root, language)
            return self._loaded[language]
