"""Where audio files live: one audio root, optionally with a folder per language.

An `audioId` is resolved to `<root>/<language>/<audioId>.<ext>` first, then
`<root>/<audioId>.<ext>`, for each extension FreeSWITCH plays out of the box. The result is
always an absolute path inside the root: the schema's pattern already forbids `..` and
absolute ids, and the resolved path (symlinks followed) is checked again here, so a link
inside the audio folder cannot lead outside it either.
"""

from __future__ import annotations

import os
from pathlib import Path

AUDIO_EXTENSIONS = (".wav", ".mp3", ".ogg")
# Relative names whose segments start with a letter or digit: no `..`, no absolute path, no
# hidden file, no space or `!` (FreeSWITCH splits arguments and file_string members on them).
AUDIO_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$"


def candidates(root: Path, audio_id: str, language: str | None) -> list[Path]:
    folders = [root / language] if language else []
    folders.append(root)
    return [folder / f"{audio_id}{ext}" for folder in folders for ext in AUDIO_EXTENSIONS]


_resolved: dict[tuple[Path, str, str | None], Path] = {}


def resolve_audio(root: Path, audio_id: str, language: str | None) -> Path | None:
    """The file an audioId plays, or None when there is none inside the root.

    Answers are remembered (every prompt of every call asks again) and checked with one
    stat each time, so a file removed or replaced in a language folder is seen at once."""
    key = (root, audio_id, language)
    known = _resolved.get(key)
    if known is not None and os.path.isfile(known):
        return known
    found = _resolve(root, audio_id, language)
    if found is None:
        _resolved.pop(key, None)
    else:
        _resolved[key] = found
    return found


def _resolve(root: Path, audio_id: str, language: str | None) -> Path | None:
    real_root = root.resolve()
    for path in candidates(root, audio_id, language):
        if path.is_file():
            real = path.resolve()
            if real.is_relative_to(real_root):
                return real
    return None
