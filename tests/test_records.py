from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import gevent
import pytest

from controller import metrics, records
from controller.records import (
    MAX_RECORD_BYTES,
    MAX_TEXT,
    CallRecord,
    RecordWriter,
    Step,
    describe,
    encode_record,
    utc_now,
)

DEV_FULL = Path("/dev/full")  # every write: ENOSPC
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full")


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["callId"] for line in path.read_bytes().decode().splitlines()]


def _sample(name: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(name)


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


def test_an_unwritable_path_queues_the_record_until_it_can_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "records"
    blocker.write_text("")  # a file where the records' directory should be
    writer = RecordWriter(blocker / "calls.jsonl")
    assert not writer.write(CallRecord(callId="lost-not"))
    assert (writer.failed, writer.pending, writer.ready) == (1, 1, False)
    blocker.unlink()
    assert writer.flush_pending() == 0
    assert writer.ready
    assert _ids(blocker / "calls.jsonl") == ["lost-not"]


def test_timestamps_are_utc_to_the_millisecond() -> None:
    before = datetime.now(UTC)
    stamp = utc_now()
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= parsed <= after


# -- bytes that are not UTF-8 ----------------------------------------------------------------


def test_a_byte_that_is_not_utf8_is_written_as_a_backslash_escape() -> None:
    # "12%FF34" from FreeSWITCH decodes (surrogateescape) to "12\udcff34"
    record = CallRecord(callId="c", destinationNumber="12\udcff34", callerIdNumber="\ud800")
    record.variables["name"] = "a\udcffb"
    line = encode_record(record)
    data = json.loads(line.decode("utf-8"))  # strict UTF-8, one line
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert data["destinationNumber"] == "12\\xff34"
    assert data["callerIdNumber"] == "\\ud800"
    assert data["variables"] == {"name": "a\\xffb"}
    assert "truncated" not in data


def test_describe_shows_such_bytes_too() -> None:
    record = CallRecord(callId="c", destinationNumber="\udcff")
    record.path.append(Step(nodeId="n\udcfe", type="play"))
    text = describe(record)
    text.encode("utf-8")  # no lone surrogate left
    assert "n\\xfe (play)" in text


# -- what one record may carry ---------------------------------------------------------------


def test_a_long_value_is_cut_with_a_marker_and_named_in_truncated() -> None:
    record = CallRecord(callId="c")
    record.variables["customerNotes"] = "n" * 100_000
    record.variables["short"] = "kept"
    record.path.append(Step(nodeId="a", type="play", error="e" * 20_000))
    data = json.loads(encode_record(record))
    notes = data["variables"]["customerNotes"]
    assert notes == "n" * MAX_TEXT + "…[truncated: 100000 characters]"
    assert data["variables"]["short"] == "kept"
    assert data["truncated"] == ["path.0.error", "variables.customerNotes"]


def test_a_small_record_is_never_cut() -> None:
    record = CallRecord(callId="c")
    record.variables["notes"] = "n" * (MAX_TEXT + 10)  # longer than MAX_TEXT, record < 16 KiB
    data = json.loads(encode_record(record))
    assert data["variables"]["notes"] == "n" * (MAX_TEXT + 10)


def test_no_record_line_exceeds_the_bound() -> None:
    record = CallRecord(callId="c", error="x" * 10_000_000)
    record.variables = {f"v{i}": "y" * 10_000 for i in range(5000)}
    record.digits = [{"nodeId": "d", "digits": "1" * 5000} for _ in range(5000)]
    line = encode_record(record)
    assert len(line) <= MAX_RECORD_BYTES + 1
    data = json.loads(line)
    assert data["callId"] == "c"
    assert data["error"].endswith("…[truncated: 10000000 characters]")
    assert data["truncated"][0] == "variables"  # more than MAX_ITEMS entries: some left out
    assert len(data["truncated"]) == 101 and data["truncated"][-1].endswith(" more")


def test_values_json_cannot_hold_as_they_are_are_still_written() -> None:
    nested: list = []
    deep = nested
    for _ in range(5000):  # deeper than json.dumps can go
        deep.append([])
        deep = deep[0]
    looped: dict = {}
    looped["self"] = looped
    record = CallRecord(callId="c")
    record.variables = {
        "deep": nested,
        "loop": looped,
        "nan": float("nan"),
        "big": 10**5000,
        "object": object(),
    }
    data = json.loads(encode_record(record))
    variables = data["variables"]
    assert variables["nan"] == "nan"
    assert variables["big"].startswith("…[truncated: an integer")
    assert "nested deeper" in json.dumps(variables["deep"])
    assert "nested deeper" in json.dumps(variables["loop"])
    assert variables["object"].startswith("<object object")


# -- the file refuses records ----------------------------------------------------------------


@needs_dev_full
def test_disk_full_queues_records_and_writes_them_in_order_when_space_returns(
    tmp_path: Path,
) -> None:
    link = tmp_path / "calls.jsonl"
    link.symlink_to(DEV_FULL)
    writer = RecordWriter(link)
    failures = _sample("callflow_record_write_failures_total") or 0.0
    for number in range(3):
        assert not writer.write(CallRecord(callId=f"c{number}"))
    assert (writer.pending, writer.ready) == (3, False)
    assert _sample("callflow_records_pending") == 3
    assert (_sample("callflow_record_write_failures_total") or 0.0) > failures
    real = tmp_path / "real.jsonl"
    real.write_text('{"callId": "before"}\n')
    link.unlink()
    link.symlink_to(real)
    assert writer.write(CallRecord(callId="c3"))  # the queued ones go first
    assert _ids(real) == ["before", "c0", "c1", "c2", "c3"]
    assert (writer.pending, writer.ready, _sample("callflow_records_pending")) == (0, True, 0)
    writer.close()


@needs_dev_full
def test_past_the_queue_bound_records_are_dropped_counted_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "calls.jsonl"
    link.symlink_to(DEV_FULL)
    writer = RecordWriter(link, queue_limit=2)
    dropped = _sample("callflow_records_dropped_total") or 0.0
    with caplog.at_level(logging.WARNING, logger="callflow.records"):
        for number in range(5):
            writer.write(CallRecord(callId=f"c{number}"))
    assert (writer.pending, writer.dropped) == (2, 3)
    assert _sample("callflow_records_dropped_total") == dropped + 3
    assert caplog.text.count("queue of unwritten call records is full") == 1
    assert caplog.text.count("cannot write call records") == 1
    link.unlink()
    assert writer.flush_pending() == 0
    assert _ids(link) == ["c0", "c1"]


@needs_dev_full
def test_records_still_refused_at_close_go_to_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "calls.jsonl"
    link.symlink_to(DEV_FULL)
    writer = RecordWriter(link)
    writer.write(CallRecord(callId="last-chance", destinationNumber="\udcff"))
    with caplog.at_level(logging.ERROR, logger="callflow.records"):
        writer.close()
    assert '"callId": "last-chance"' in caplog.text
    assert '"destinationNumber": "\\\\xff"' in caplog.text
    assert writer.ready


@needs_dev_full
def test_the_retry_timer_writes_the_queue_without_a_new_record(tmp_path: Path) -> None:
    link = tmp_path / "calls.jsonl"
    link.symlink_to(DEV_FULL)
    writer = RecordWriter(link, retry_seconds=0.01)
    writer.write(CallRecord(callId="waiting"))
    link.unlink()
    deadline = time.monotonic() + 10
    while not writer.ready:
        assert time.monotonic() < deadline, "the queued record was never retried"
        gevent.sleep(0.01)
    assert _ids(link) == ["waiting"]
    writer.close()


def test_a_file_ending_inside_a_line_gets_the_next_record_on_a_line_of_its_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text('{"callId": "ok"}\n{"callId": "torn-by-a-cr')
    writer = RecordWriter(path)
    writer.write(CallRecord(callId="next"))
    writer.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1])["callId"] == "next"
    assert lines[1] == '{"callId": "torn-by-a-cr'


SHORT_WRITE = r"""
import json, resource, signal, sys
from pathlib import Path
from controller.records import CallRecord, RecordWriter

path = Path(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit: EFBIG, not a signal
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
writer = RecordWriter(path)
record = CallRecord(callId="c0", variables={"pad": "p" * 300})
size = len(json.dumps(record.as_dict(), ensure_ascii=False)) + 1
# room for two records and a half: the third is written in part, then refused
resource.setrlimit(resource.RLIMIT_FSIZE, (size * 5 // 2, hard))
results = []
for number in range(4):
    record.callId = f"c{number}"
    results.append(writer.write(record))
torn = path.stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
left = writer.flush_pending()
print(json.dumps({"results": results, "size": torn, "record": size, "left": left}))
"""


def test_a_short_write_is_cut_back_and_written_whole_later(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", SHORT_WRITE, str(path)],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["results"] == [True, True, False, False]
    assert report["size"] == 2 * report["record"]  # the part of c2 that fit was cut back off
    assert report["left"] == 0
    assert _ids(path) == ["c0", "c1", "c2", "c3"]


@needs_dev_full
def test_a_long_queue_is_written_in_turns_the_calls_can_run_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records, "BATCH_BYTES", 1)  # one record per write()
    monkeypatch.setattr(records, "DRAIN_BYTES", 1)  # one write() per turn
    link = tmp_path / "calls.jsonl"
    link.symlink_to(DEV_FULL)
    writer = RecordWriter(link, retry_seconds=60)  # a refused file would wait a minute
    for number in range(3):
        writer.write(CallRecord(callId=f"c{number}"))
    link.unlink()
    assert not writer.write(CallRecord(callId="c3"))  # c0 is written; c3 waits behind c1, c2
    assert _ids(link) == ["c0"]
    assert writer.flush_pending(budget=1) == 2
    deadline = time.monotonic() + 10
    while not writer.ready:  # the next turns come at once, not after retry_seconds
        assert time.monotonic() < deadline, "the rest of the queue was not written"
        gevent.sleep(0.01)
    assert _ids(link) == ["c0", "c1", "c2", "c3"]
    writer.close()
