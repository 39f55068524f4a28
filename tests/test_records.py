from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from controller.records import CallRecord, RecordWriter, Step


def test_one_json_line_per_record(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "records" / "calls.jsonl")
    record = CallRecord(callId="c1", flowId="f")
    record.path.append(Step(nodeId="a", type="play", output="onComplete"))
    assert writer.write(record)
    assert writer.write(CallRecord(callId="c2"))
    writer.close()
    lines = (tmp_path / "records" / "calls.jsonl").read_text().splitlines()
    assert [json.loads(line)["callId"] for line in lines] == ["c1", "c2"]
    assert json.loads(lines[0])["path"][0]["output"] == "onComplete"


def test_an_unwritable_file_logs_the_record_instead(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    writer = RecordWriter(blocker / "calls.jsonl")
    with caplog.at_level(logging.ERROR, logger="callflow.records"):
        assert not writer.write(CallRecord(callId="lost-not"))
    assert writer.failed == 1
    assert '"callId": "lost-not"' in caplog.text
