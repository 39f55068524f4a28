from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.records import CallRecord, RecordWriter, Step, utc_now


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


def test_timestamps_are_utc_to_the_millisecond() -> None:
    before = datetime.now(UTC)
    stamp = utc_now()
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= parsed <= after
