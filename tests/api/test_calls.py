"""/api/calls: an ad-hoc call placed through the simulator's event socket, and its record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
import yaml
from gevent.event import Event
from jsonschema import Draft202012Validator
from support.api_client import KEY, api_settings, client_for
from support.harness import DialHarness, build_dial_harness, close_dial_harness

from controller import runner
from controller.api import RecentCalls, openapi_text
from controller.outbound import UnknownFlow
from controller.records import CallRecord
from controller.simulator import Simulator
from controller.simulator.audio_timeline import AudioTimeline
from controller.simulator.callee import Callee

HUMAN = "speech 0.2-0.9; silence"
WAIT = 30.0


def conforms(body: Any, schema_name: str) -> None:
    """The body matches the OpenAPI document's schema of that name."""
    document = yaml.safe_load(openapi_text())
    Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    ).validate(body)


@pytest.fixture
def dial(tmp_path: Path, flows_dir: Path) -> Iterator[DialHarness]:
    harness = build_dial_harness(tmp_path, flows_dir, http_listen="127.0.0.1:0", api_keys=(KEY,))
    try:
        yield harness
    finally:
        close_dial_harness(harness)


def test_an_ad_hoc_call_is_placed_and_its_record_returned(dial: DialHarness) -> None:
    api = client_for(dial.controller)
    dial.simulator.add_callee(
        "0600000001", Callee.from_text("answer: press 1", audio=AudioTimeline.parse(HUMAN))
    )
    at_confirm, go_on = Event(), Event()

    def hold_at_confirmation(_call: object, node: Any) -> None:
        if node.id == "play-confirmed":
            at_confirm.set()
            go_on.wait(WAIT)  # the test reads the call while it is in progress

    dial.watcher.hook = hold_at_confirmation
    contact = {"firstName": "Amina", "customAttributes": {"balance": 1250}}
    body = {"flow": "payment-reminder", "to": "0600000001", "contact": contact}
    placed = api.post("/api/calls", body)
    assert placed.status == 202, placed.body
    call_id = placed.json()["uuid"]
    assert placed.headers["location"] == f"/api/calls/{call_id}"
    conforms(placed.json(), "CallStatus")

    assert at_confirm.wait(WAIT)
    running = api.get(f"/api/calls/{call_id}").json()
    assert running["status"] == "in_progress" and "record" not in running
    go_on.set()
    assert dial.controller.outbound.group.join(timeout=WAIT)

    finished = api.get(f"/api/calls/{call_id}").json()
    conforms(finished, "CallStatus")
    assert finished["status"] == "finished"
    record = finished["record"]
    assert record["result"] == "completed"
    assert record["variables"]["customerResponse"] == "1"
    # One id: the uuid the API answered is the originated channel's (its Unique-ID, as the
    # answered call's socket reports it) and the record's.
    assert record["callId"] == record["dial"]["uuid"] == call_id == finished["uuid"]
    assert record["destinationNumber"] == "0600000001"
    [written] = dial.written_records()
    assert record == written  # the record as in the records file


def test_a_failed_dial_has_a_record_too(dial: DialHarness) -> None:
    api = client_for(dial.controller)
    dial.simulator.add_callee("0600000002", "busy")
    placed = api.post("/api/calls", {"flow": "payment-reminder", "to": "0600000002"})
    assert placed.status == 202
    assert dial.controller.outbound.group.join(timeout=WAIT)
    finished = api.get(f"/api/calls/{placed.json()['uuid']}").json()
    assert finished["record"]["callId"] == placed.json()["uuid"]  # never answered: same id
    assert finished["record"]["dial"]["uuid"] == placed.json()["uuid"]
    assert finished["record"]["result"] == "busy"
    assert finished["record"]["dial"]["cause"] == "USER_BUSY"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"flow": "payment-reminder", "to": "0600},origination_caller_id_number=1,{"}, "to"),
        ({"flow": "payment-reminder", "to": "06 00 00 00 01"}, "to"),
        ({"flow": "payment-reminder", "to": "0600000001'&socket(evil)"}, "to"),
        ({"flow": "payment-reminder", "to": "1" * 40}, "to"),
        ({"flow": "payment-reminder", "to": "9" * 100_000}, "to"),
        ({"flow": "payment-reminder", "to": 600000001}, "to"),
        ({"flow": "payment-reminder"}, "to"),
        ({"to": "0600000001"}, "flow"),
        ({"flow": "payment-reminder", "to": "0600000001", "contact": "Amina"}, "contact"),
        (
            {"flow": "payment-reminder", "to": "0600000001", "contact": {"n": "x" * 60_000}},
            "contact",
        ),
        ({"flow": "no-such-flow", "to": "0600000001"}, "flow"),
        ({"flow": "../../etc/passwd", "to": "0600000001"}, "flow"),
        ({"flow": "payment-reminder", "to": "0600000001", "priority": 1}, None),
        ([], None),
    ],
)
def test_untrusted_fields_are_a_422_and_place_nothing(
    dial: DialHarness, body: Any, field: str | None
) -> None:
    api = client_for(dial.controller)
    response = api.post("/api/calls", body)
    assert response.status == 422, response.body
    conforms(response.json(), "Error")
    assert response.json().get("field") == field
    assert len(dial.controller.outbound.group) == 0
    assert dial.written_records() == []


def test_a_flow_that_places_no_call_is_refused(dial: DialHarness) -> None:
    response = client_for(dial.controller).post(
        "/api/calls", {"flow": "inbound-ivr", "to": "0600000001"}
    )
    assert response.status == 422
    assert "no dial node" in response.json()["error"]


def test_no_event_socket_is_a_503(tmp_path: Path, flows_dir: Path) -> None:
    body = {"flow": "payment-reminder", "to": "0600000001"}
    for esl, says in ((None, "no event socket is configured"), ("127.0.0.1:1", "not connected")):
        built = runner.build(api_settings(tmp_path, flows_dir, esl=esl))
        built.start()
        try:
            response = client_for(built).post("/api/calls", body)
        finally:
            built.stop(drain_seconds=5)
        assert response.status == 503
        assert says in response.json()["error"]


def test_any_call_s_record_is_found_by_its_uuid(dial: DialHarness) -> None:
    api = client_for(dial.controller)
    inbound = Simulator(controller=dial.controller.server.address)
    try:
        sim_call = inbound.place_call(
            "press 9", variables={"callflow_flow": "inbound-ivr", "destination_number": "1000"}
        )
        record: CallRecord = dial.watcher.result(sim_call.uuid).get(timeout=WAIT)
    finally:
        inbound.close()
    found = api.get(f"/api/calls/{sim_call.uuid}").json()
    assert found["status"] == "finished"
    assert found["record"]["callId"] == record.callId == sim_call.uuid
    assert found["record"]["direction"] == "inbound"
    assert api.get("/api/calls/no-such-call").status == 404


def test_recent_calls_are_bounded() -> None:
    recent = RecentCalls(limit=3)
    for number in range(5):
        recent.add(CallRecord(callId=f"call-{number}", result="completed"))
    assert recent.lookup("call-0") is None and recent.lookup("call-1") is None
    assert recent.lookup("call-4")["record"]["result"] == "completed"
    placed = gevent.event.AsyncResult()
    for number in range(4):
        recent.placed(f"api-{number}", placed, "flow")
    assert recent.lookup("api-0") is None
    assert recent.lookup("api-3")["status"] == "in_progress"
    placed.set(None)
    assert recent.lookup("api-3")["status"] == "handed_off"
    json.dumps(recent.lookup("api-3"))


def test_a_flow_gone_between_the_check_and_the_dial_is_a_422(
    dial: DialHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gone(flow_id: str, **_: Any) -> None:
        raise UnknownFlow(f"no valid flow named {flow_id!r}")

    monkeypatch.setattr(dial.controller.outbound, "place", gone)
    response = client_for(dial.controller).post(
        "/api/calls", {"flow": "payment-reminder", "to": "0600000001"}
    )
    assert response.status == 422 and response.json()["field"] == "flow"
