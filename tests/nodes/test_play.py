from __future__ import annotations

from support.flows import loaded_config, one_node_flow, problems_of


def play(*items: dict) -> dict:
    return one_node_flow("play", {"audioItems": list(items)}, {"default": "end"})


def test_each_item_kind_gets_its_defaults() -> None:
    config = loaded_config(
        play(
            {"type": "audioFile", "audioId": "welcome"},
            {"type": "number", "value": {"source": "customAttribute", "attributeName": "balance"}},
            {"type": "date", "value": "2026-03-01", "language": "fr"},
            {"type": "word", "value": {"source": "contact", "field": "city"}},
        )
    )
    file_item, number, date, word = config["audioItems"]
    assert file_item == {"type": "audioFile", "audioId": "welcome", "language": None}
    assert number["mode"] == "full" and number["currency"] == "MAD"
    assert date["format"] == "day_month_year" and date["language"] == "fr"
    assert word["language"] is None
    assert config["interruptible"] is False


def test_audio_ids_cannot_leave_the_audio_root() -> None:
    for audio_id in ("../secret", "/etc/passwd", "a/../../b", ".hidden", "a//b", "a\\b"):
        assert problems_of(play({"type": "audioFile", "audioId": audio_id})) == [
            ("error", "invalid-value", "/graph/nodes/0/config/audioItems/0/audioId")
        ], audio_id


def test_item_fields_belong_to_their_kind() -> None:
    assert problems_of(play({"type": "audioFile", "audioId": "a", "mode": "full"})) == [
        ("error", "unknown-field", "/graph/nodes/0/config/audioItems/0/mode")
    ]
    assert problems_of(play({"type": "number"})) == [
        ("error", "missing-field", "/graph/nodes/0/config/audioItems/0/value")
    ]
    assert problems_of(play({"type": "tts", "text": "hi"})) == [
        ("error", "invalid-value", "/graph/nodes/0/config/audioItems/0/type")
    ]


def test_value_sources_are_checked() -> None:
    assert problems_of(play({"type": "word", "value": {"source": "database", "key": "x"}})) == [
        ("error", "invalid-value", "/graph/nodes/0/config/audioItems/0/value/source")
    ]
    assert problems_of(play({"type": "word", "value": {"source": "variable"}})) == [
        ("error", "missing-field", "/graph/nodes/0/config/audioItems/0/value/variable")
    ]
    assert problems_of(
        play({"type": "word", "value": {"source": "variable", "variable": "nobodySetsMe"}})
    ) == [("warning", "unset-variable", "/graph/nodes/0/config/audioItems/0/value/variable")]


def test_an_empty_play_is_an_error() -> None:
    assert problems_of(play()) == [("error", "invalid-value", "/graph/nodes/0/config/audioItems")]
