"""`callflow program ...`: create, import, lifecycle, status, export, dnc; exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from support.cli import callflow
from support.harness import REPO

from controller.cli import main
from controller.programs import progress
from controller.programs.sqlite_store import SQLiteStore
from controller.programs.store import ProgramStats

FIXTURES = REPO / "tests" / "fixtures" / "programs"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "programs" / "callflow.db"


def program(db: Path, *args: str) -> int:
    return main(["program", *args, "--db", str(db)])


def test_create_with_contacts_reports_invalid_rows_by_line(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, contacts = str(FIXTURES / "reminders.yaml"), str(FIXTURES / "contacts.csv")
    assert program(db, "create", "p1", "--spec", spec, "--contacts", contacts) == 1
    out, err = capsys.readouterr()
    assert "program p1: created (flow payment-reminder)" in out
    assert "3 added to p1" in out and "4 invalid" in out
    assert f"{contacts}:4: phone '12' is not a valid number" in err
    assert f"{contacts}:9: same number as line 2: merged" in err
    assert program(db, "create", "p1", "--spec", spec) == 0  # the same again: nothing new


def test_lifecycle_status_and_export(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program(db, "create", "p1", "--spec", str(FIXTURES / "reminders.yaml"))
    assert program(db, "import", "p1", str(FIXTURES / "contacts.json")) == 1  # 2 bad items
    flows = str(REPO / "flows")
    assert program(db, "start", "p1", "--flows", flows) == 0
    assert program(db, "start", "p1", "--flows", flows) == 0
    assert program(db, "pause", "p1") == 0
    assert program(db, "resume", "p1", "--flows", flows) == 0
    capsys.readouterr()
    assert program(db, "status", "p1") == 0
    out = capsys.readouterr().out
    assert "program p1 (March reminders): running" in out
    assert "contacts    2: 0 done, 0 in progress, 2 to call" in out
    assert program(db, "status") == 0
    assert capsys.readouterr().out == "p1\trunning\tpayment-reminder\t0/2 done\n"
    assert program(db, "cancel", "p1") == 0
    assert program(db, "cancel", "p1") == 0
    assert program(db, "start", "p1", "--flows", flows) == 1
    assert "is cancelled; cannot become running" in capsys.readouterr().err
    assert program(db, "status", "p1", "--follow") == 0  # finished: one frame, then done
    assert "finished    cancelled" in capsys.readouterr().out
    target = tmp_path / "out.json"
    assert program(db, "export", "p1", "--format", "json", "--output", str(target)) == 0
    exported = json.loads(target.read_text())
    assert [e["disposition"] for e in exported] == ["cancelled", "cancelled"]
    assert exported[1]["contact"]["customAttributes"] == {"plan": "gold"}
    capsys.readouterr()
    assert program(db, "export", "p1") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["phone"] == "+212600000001" and rows[0]["attr.balance"] == "1200"
    assert rows[1]["attr.plan"] == "gold"


def test_do_not_call_numbers(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = tmp_path / "dnc.txt"
    listed.write_text("+212600000001\n\n0600000002\n")
    assert program(db, "dnc", "add", "--file", str(listed), "--country", "MA") == 0
    assert "2 number(s) added to the global list" in capsys.readouterr().out
    program(db, "create", "p1", "--spec", str(FIXTURES / "reminders.yaml"))
    assert program(db, "dnc", "add", "0600000003", "oops", "--program", "p1") == 1
    out, err = capsys.readouterr()
    assert "1 number(s) added to program p1's list" in out and "'oops'" in err
    store = SQLiteStore(db)
    assert store.is_dnc("+212600000002", "p1") and store.is_dnc("+212600000003", "p1")
    store.close()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["pause", "p1"], 2, "no program database at"),
        (["status"], 2, "no program database at"),
    ],
)
def test_usage_errors(
    db: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    assert program(db, *args) == code
    assert message in capsys.readouterr().err


def test_a_bad_specification_names_the_file_and_field(db: Path, tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: x\nflow: payment-reminder\ntimezone: Mars/Base\n")
    result = callflow("program", "create", "p1", "--spec", str(spec), "--db", str(db))
    assert result.returncode == 1
    assert f"{spec}: timezone: 'Mars/Base' is not a time zone" in result.stderr


def test_progress_estimates_time_to_finish(db: Path) -> None:
    assert progress.duration(59) == "59s" and progress.duration(3725) == "1h02m"
    program(db, "create", "p1", "--spec", str(FIXTURES / "reminders.yaml"))
    store = SQLiteStore(db)
    row = store.get_program("p1")
    store.close()
    stats = ProgramStats(
        contacts=100,
        by_status={"pending": 60, "dialing": 4, "done": 36},
        by_disposition={"completed": 30, "busy": 6},
        attempts=50,
        attempts_by_outcome={"completed": 30, "busy": 16, "in_progress": 4},
        recent_attempts=30,  # in the last minute: half a call a second
    )
    text = progress.render(row, stats)
    assert "contacts    100: 36 done, 4 in progress, 60 to call" in text
    assert "disposition completed 30, busy 6" in text
    assert "outcomes    completed 30, busy 16" in text
    assert "rate        30.0 call(s)/min" in text
    assert "to finish   about 2m00s at this rate" in text
