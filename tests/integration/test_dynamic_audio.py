"""Numbers, amounts, dates and words spoken over ESL, as one gapless file_string."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.dictionaries import audio_root_with_dictionaries
from support.harness import Harness, add_flow, build_harness, close_harness

from controller.speech.compose import files_for, tokens_for
from controller.speech.dictionary import Dictionary


@pytest.fixture
def spoken(tmp_path: Path, flows_dir: Path) -> Iterator[Harness]:
    audio = audio_root_with_dictionaries(tmp_path / "audio")
    harness = build_harness(tmp_path, flows_dir, audio=audio)
    try:
        yield harness
    finally:
        close_harness(harness)


def test_mixed_items_play_as_one_exact_file_string(spoken: Harness) -> None:
    items = [
        {"type": "audioFile", "audioId": "greeting-audio-id"},
        {
            "type": "number",
            "value": {"source": "customAttribute", "attributeName": "balance"},
            "mode": "currency",
            "currency": "MAD",
            "language": "ar",
        },
        {"type": "date", "value": "2026-03-01", "format": "day_month", "language": "fr"},
        {"type": "number", "value": "0612", "mode": "digits", "language": "en"},
    ]
    add_flow(
        spoken,
        "t",
        {
            "name": "t",
            "graph": {
                "startNodeId": "p",
                "nodes": [
                    {
                        "id": "p",
                        "type": "play",
                        "config": {"audioItems": items},
                        "outputs": {"default": "end"},
                    },
                    {"id": "end", "type": "hangup"},
                ],
            },
        },
    )
    sim_call = spoken.place("t", contact={"customAttributes": {"balance": "1234.50"}})
    record = spoken.record_of(sim_call)
    assert record.result == "completed", record.path
    root = spoken.settings.audio
    expected = [str(root / "greeting-audio-id.wav")]
    for item, value in [(items[1], "1234.50"), (items[2], "2026-03-01"), (items[3], "0612")]:
        dictionary = Dictionary.load(root, item["language"])
        expected += files_for(tokens_for(item, value, item["language"]), dictionary)
    playback = sim_call.wait(10).app("playback")
    assert playback.arg == "file_string://" + "!".join(expected)
    assert len(expected) > 10


def test_the_ivr_says_a_known_balance(spoken: Harness) -> None:
    record = spoken.run("inbound-ivr", "press 1", contact={"customAttributes": {"balance": 1250}})
    assert [(s.nodeId, s.output) for s in record.path][3:5] == [
        ("has-balance", "onTrue"),
        ("say-balance", "onComplete"),
    ]


def test_a_word_from_data_that_is_not_in_the_dictionary_takes_on_error(spoken: Harness) -> None:
    items = [{"type": "word", "value": {"source": "variable", "variable": "w"}, "language": "fr"}]
    add_flow(
        spoken,
        "t",
        {
            "name": "t",
            "graph": {
                "startNodeId": "s",
                "nodes": [
                    {
                        "id": "s",
                        "type": "set_variable",
                        "config": {"variable": "w", "value": "../../x"},
                        "outputs": {"default": "p"},
                    },
                    {
                        "id": "p",
                        "type": "play",
                        "config": {"audioItems": items},
                        "outputs": {"onComplete": "end", "onError": "end"},
                    },
                    {"id": "end", "type": "hangup"},
                ],
            },
        },
    )
    record = spoken.run("t")
    assert record.path[1].output == "onError"
    assert "no clip for '../../x'" in record.path[1].error
