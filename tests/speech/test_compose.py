"""Values to tokens to files, and the dictionary's guard on the audio root."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.dictionaries import write_dictionary

from controller.speech.base import SpeechError
from controller.speech.compose import files_for, tokens_for
from controller.speech.dictionary import Dictionary, DictionaryError

NUMBER = {"type": "number", "mode": "full", "currency": "MAD"}


def test_values_are_read_as_data_arrives() -> None:
    assert tokens_for(NUMBER, "21", "fr") == tokens_for(NUMBER, 21, "fr")
    assert tokens_for(NUMBER, " 1234 ", "en") == tokens_for(NUMBER, 1234, "en")
    assert tokens_for({**NUMBER, "mode": "currency"}, "12.50", "ar") == tokens_for(
        {**NUMBER, "mode": "currency"}, 12.5, "ar"
    )
    date = {"type": "date", "format": "day_month"}
    assert tokens_for(date, "2026-03-01", "fr") == tokens_for(date, "2026-03-01T10:00:00", "fr")


@pytest.mark.parametrize("value", ["n/a", "", None, True, "1,5", "1e3", "12abc"])
def test_what_is_not_a_number_is_said_so(value: object) -> None:
    with pytest.raises(SpeechError):
        tokens_for(NUMBER, value, "en")


def test_unknown_language_and_bad_dates() -> None:
    with pytest.raises(SpeechError, match="no spoken-number rules for language 'de'"):
        tokens_for(NUMBER, 3, "de")
    with pytest.raises(SpeechError, match="not a date"):
        tokens_for({"type": "date", "format": "day_month"}, "2026-02-30", "fr")
    with pytest.raises(SpeechError):
        tokens_for(NUMBER, 3, "../en")


def test_files_must_all_exist(tmp_path: Path) -> None:
    write_dictionary(tmp_path, "en", ["3", "20"])
    dictionary = Dictionary.load(tmp_path, "en")
    assert [Path(p).name for p in files_for(["20", "3"], dictionary)] == ["20.wav", "3.wav"]
    with pytest.raises(SpeechError, match="no clip for 'thousand'"):
        files_for(["3", "thousand"], dictionary)


def test_a_word_from_data_cannot_reach_outside_the_dictionary(tmp_path: Path) -> None:
    write_dictionary(tmp_path, "fr", ["merci"])
    dictionary = Dictionary.load(tmp_path, "fr")
    word = {"type": "word"}
    for value in ("../../../etc/passwd", "/etc/passwd", "merci/../../x"):
        with pytest.raises(SpeechError, match="no clip"):
            files_for(tokens_for(word, value, "fr"), dictionary)


@pytest.mark.parametrize("clip", ["../../etc/passwd", "/etc/passwd", "a/../b", ".hidden"])
def test_a_manifest_cannot_point_outside_the_audio_root(tmp_path: Path, clip: str) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "manifest.yaml").write_text(f"clips:\n  evil: '{clip}'\n")
    with pytest.raises(DictionaryError, match="not a clip name"):
        Dictionary.load(tmp_path, "fr")


def test_a_symlinked_clip_leading_outside_is_not_played(tmp_path: Path) -> None:
    outside = tmp_path / "outside.wav"
    outside.write_bytes(b"RIFF")
    root = tmp_path / "audio"
    (root / "fr").mkdir(parents=True)
    (root / "fr" / "sneaky.wav").symlink_to(outside)
    (root / "fr" / "manifest.yaml").write_text("clips:\n  merci: sneaky\n")
    assert Dictionary.load(root, "fr").file("merci") is None
