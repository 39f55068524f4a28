"""/api/programs and /api/dnc over real HTTP: create, import, the lifecycle (each step twice),
progress, results as JSON and CSV, do-not-call; on SQLite and PostgreSQL; and a program
started through the API dialled by the controller through the simulator."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
import yaml
from jsonschema import Draft202012Validator
from support.api_client import KEY, REPO, ApiClient, api_settings, client_for
from support.harness import build_dial_harness, close_dial_harness

from controller import runner
from controller.api import openapi_text
from controller.programs.manager import build_manager
from controller.simulator.callee import Callee

SPEC = {
    "name": "March reminders",
    "flow": "payment-reminder",
    "timezone": "Africa/Casablanca",
    "defaultCountry": "MA",
    "pacing": {"maxConcurrent": 4, "callsPerSecond": 2},
    "retries": {"busy": {"after": "10m", "times": 3}},
}
CSV_BODY = (
    b"phone,First Name,city,balance\n"
    b'0600000001,=HYPERLINK("http://x"),Casablanca,1200\n'
    b"12,Bad,Rabat,5\n"
    b"0600000001,Amina,,1300\n"
)


def conforms(body: Any, schema_name: str) -> None:
    document = yaml.safe_load(openapi_text())
    Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    ).validate(body)


@pytest.fixture(params=["sqlite", "postgres"])
def programs_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return tmp_path / "programs" / "callflow.db"


@pytest.fixture
def api(tmp_path: Path, flows_dir: Path, programs_db: Path | str) -> Iterator[ApiClient]:
    built = runner.build(api_settings(tmp_path, flows_dir, programs_db=programs_db))
    built.start()
    try:
        yield client_for(built)
    finally:
        built.stop(drain_seconds=5)


def test_create_and_import(api: ApiClient, programs_db: Path | str) -> None:
    listed = api.get("/api/programs")
    assert (listed.status, listed.json()) == (200, {"programs": []})
    if isinstance(programs_db, Path):
        assert not programs_db.exists()  # reading creates no database
    created = api.post("/api/programs", {"id": "march", "spec": SPEC})
    assert created.status == 201 and created.headers["location"] == "/api/programs/march"
    conforms(created.json(), "Program")
    assert created.json()["state"] == "created" and created.json()["progress"]["contacts"] == 0
    assert api.post("/api/programs", {"id": "march", "spec": SPEC}).status == 200  # same again
    other = api.post("/api/programs", {"id": "march", "spec": {**SPEC, "maxAttempts": 9}})
    assert other.status == 409 and "another specification" in other.json()["error"]
    bad = api.post("/api/programs", {"id": "x", "spec": {**SPEC, "timezone": "Mars/Olympus"}})
    assert bad.status == 422 and bad.json()["field"] == "spec"
    assert "timezone" in bad.json()["error"]
    assert api.post("/api/programs", {"id": "a b", "spec": SPEC}).json()["field"] == "id"
    imported = import_csv(api, "march", CSV_BODY)
    assert imported.status == 200, imported.body
    report = imported.json()
    conforms(report, "ImportReport")
    assert (report["rows"], report["added"], report["updated"]) == (3, 1, 0)
    reason = "phone '12' is not a valid number (read as MA)"
    assert report["invalid"] == [{"line": 3, "reason": reason}]
    assert report["merged"] == [{"line": 4, "into": 2}]
    as_json = api.post("/api/programs/march/contacts", [{"phone": "0600000002", "plan": "gold"}])
    assert as_json.json()["added"] == 1 and as_json.json()["invalid"] == []
    again = api.post("/api/programs/march/contacts", {"contacts": [{"phone": "0600000002"}]})
    assert (again.json()["added"], again.json()["updated"]) == (0, 1)
    listed = api.get("/api/programs").json()
    conforms(listed, "ProgramList")
    assert [(p["id"], p["progress"]["contacts"]) for p in listed["programs"]] == [("march", 2)]


def test_lifecycle_steps_twice_and_results(api: ApiClient) -> None:
    api.post("/api/programs", {"id": "march", "spec": SPEC})
    import_csv(api, "march", CSV_BODY)
    api.post("/api/programs/march/contacts", [{"phone": "0600000002", "plan": "gold"}])
    for step, state in (("start", "running"), ("pause", "paused"), ("resume", "running")):
        first = api.post(f"/api/programs/march/{step}", None)
        again = api.post(f"/api/programs/march/{step}", None)
        assert (first.status, again.status) == (200, 200), first.body
        assert first.json()["state"] == again.json()["state"] == state
    detail = api.get("/api/programs/march").json()
    conforms(detail, "Program")
    assert detail["flowVersion"] and detail["startedAt"]
    assert detail["progress"]["toCall"] == 2 and detail["progress"]["secondsToFinish"] is None
    moved = api.post("/api/programs/march/resume", {"useCurrentFlow": True})
    assert moved.status == 200 and moved.json()["flowVersion"] == detail["flowVersion"]
    assert api.post("/api/programs/march/cancel", None).json()["state"] == "cancelled"
    assert api.post("/api/programs/march/cancel", None).status == 200
    refused = api.post("/api/programs/march/start", None)
    assert refused.status == 409
    assert "is cancelled; cannot become running" in refused.json()["error"]
    assert api.post("/api/programs/march/contacts", [{"phone": "0600000003"}]).status == 409
    results = api.get("/api/programs/march/results")
    conforms(results.json(), "ProgramResults")
    assert [r["disposition"] for r in results.json()["results"]] == ["cancelled", "cancelled"]
    exported = api.get("/api/programs/march/results?format=csv")
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    rows = {
        row["phone"]: row for row in csv.DictReader(io.StringIO(exported.body.decode(), newline=""))
    }
    assert rows["+212600000001"]["firstName"] == "Amina"  # merged: the later row's name
    assert rows["+212600000002"]["attr.plan"] == "gold"
    assert api.get("/api/programs/march/results?format=xml").status == 400


def import_csv(api: ApiClient, program_id: str, body: bytes) -> Any:
    return api.request(
        "POST",
        f"/api/programs/{program_id}/contacts",
        raw=body,
        headers={"Content-Type": "text/csv"},
    )


def test_formula_cells_are_neutralised_in_the_csv_export(api: ApiClient) -> None:
    api.post("/api/programs", {"id": "p1", "spec": SPEC})
    body = b'phone,First Name\n0600000001,=HYPERLINK("http://x")\n'
    import_csv(api, "p1", body)
    exported = api.get("/api/programs/p1/results?format=csv").body.decode()
    [row] = list(csv.DictReader(io.StringIO(exported, newline="")))
    assert row["firstName"] == '\'=HYPERLINK("http://x")' and row["phone"] == "+212600000001"


def test_unknown_programs_and_bad_bodies(api: ApiClient) -> None:
    for method, path in (
        ("GET", "/api/programs/nope"),
        ("POST", "/api/programs/nope/start"),
        ("POST", "/api/programs/nope/contacts"),
        ("GET", "/api/programs/nope/results"),
    ):
        answer = api.request(method, path, raw=b"phone\n0600000001\n")
        assert answer.status == 404 and answer.json()["error"] == "no program 'nope'"
    api.post("/api/programs", {"id": "p1", "spec": SPEC})
    no_phone = import_csv(api, "p1", b"name\nAmina\n")
    assert no_phone.status == 422
    assert api.post("/api/programs/p1/contacts", {"people": []}).status == 422
    assert api.request("POST", "/api/programs/p1/contacts", raw=b"").status == 400
    assert api.post("/api/programs/p1/resume", {"useCurrentFlow": "yes"}).status == 422
    assert api.post("/api/programs", {"id": "p2"}).status == 422
    assert api.post("/api/programs", {"id": "p2", "spec": SPEC, "x": 1}).status == 422
    assert api.with_key(None).get("/api/programs").status == 401


def test_do_not_call_lists(api: ApiClient) -> None:
    added = api.post(
        "/api/dnc", {"numbers": ["0600000009", "+212600000008", "12"], "country": "MA"}
    )
    assert added.status == 200, added.body
    conforms(added.json(), "DncResult")
    assert added.json()["added"] == 2 and added.json()["list"] == "global"
    assert added.json()["invalid"] == [
        {"number": "12", "reason": "phone '12' is not a valid number (read as MA)"}
    ]
    assert api.post("/api/dnc", {"numbers": ["+212600000009"]}).json()["added"] == 0
    api.post("/api/programs", {"id": "p1", "spec": SPEC})
    mine = api.post("/api/dnc", {"numbers": ["0600000007"], "program": "p1"})  # read as MA
    assert mine.json() == {
        "list": "p1",
        "added": 1,
        "numbers": ["+212600000007"],
        "invalid": [],
    }
    removed = api.post("/api/dnc/remove", {"numbers": ["+212600000009"]})
    assert removed.json()["removed"] == 1
    assert api.post("/api/dnc", {"numbers": ["1"], "program": "nope"}).status == 404
    for body in ({"numbers": []}, {"numbers": [5]}, {"numbers": ["1"], "program": None}, [1]):
        assert api.post("/api/dnc", body).status == 422, body


def test_programs_off_without_a_database(tmp_path: Path, flows_dir: Path) -> None:
    built = runner.build(api_settings(tmp_path, flows_dir, programs_db=None))
    built.start()
    try:
        answer = client_for(built).get("/api/programs")
        assert answer.status == 503 and "programs_db" in answer.json()["error"]
    finally:
        built.stop(drain_seconds=5)


def test_a_program_started_through_the_api_is_dialled(tmp_path: Path) -> None:
    flows_dir = tmp_path / "flows"
    flows_dir.mkdir()
    shutil.copy(REPO / "tests" / "fixtures" / "programs" / "flows" / "quick-dial.yaml", flows_dir)
    dial = build_dial_harness(tmp_path, flows_dir, http_listen="127.0.0.1:0", api_keys=(KEY,))
    try:
        dial.simulator.add_callee("*", Callee.from_text("answer"))
        dial.controller.programs = build_manager(dial.controller)
        assert dial.controller.programs is not None
        dial.controller.programs.poll_seconds = 0.1
        dial.controller.programs.start()
        api = client_for(dial.controller)
        spec = {**SPEC, "flow": "quick-dial", "timezone": "UTC"}
        assert api.post("/api/programs", {"id": "now", "spec": spec}).status == 201
        api.post("/api/programs/now/contacts", [{"phone": "0600000001"}, {"phone": "0600000002"}])
        assert api.post("/api/programs/now/start", None).status == 200
        with gevent.Timeout(30, AssertionError("the program did not complete")):
            while api.get("/api/programs/now").json()["state"] != "completed":
                gevent.sleep(0.05)  # the manager dials on this hub; polling the API here
        results = api.get("/api/programs/now/results").json()["results"]
        assert [r["disposition"] for r in results] == ["completed", "completed"]
        assert all(r["variables"] == {"customerResponse": "1"} for r in results)
    finally:
        close_dial_harness(dial)
