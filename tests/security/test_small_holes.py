"""Issue #14, section 6: smaller holes.

- Flow versions are kept only while a call or a program holds them (200 PUTs kept 111 MB).
- Every program duration and count, and every numeric setting, has an upper bound; NaN and
  infinity are refused (`retries.busy.after: 1e300` made /results answer 500 for good).
- /api/programs answers 503, as documented, when PostgreSQL goes away (it answered 500).
- The CSV export neutralises every formula trigger: LF, CR, tab, spaces then a trigger,
  `|`, and the fullwidth forms.
"""

from __future__ import annotations

import csv
import gc
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from support.api_client import REPO, ApiClient, api_settings, client_for
from support.postgres import throwaway_cluster

from controller import runner
from controller.config import load_settings
from controller.exceptions import ConfigError
from controller.flowstore import RECENT_VERSIONS
from controller.programs import model
from controller.programs.export import iso_time, spreadsheet_safe
from controller.programs.model import SpecError, parse_spec
from controller.programs.pacing import GatewayLoad, TokenBucket
from controller.programs.rows import program_row
from controller.programs.runner import ProgramRunner

SPEC = {
    "name": "March reminders",
    "flow": "payment-reminder",
    "timezone": "Africa/Casablanca",
    "defaultCountry": "MA",
}


# -- flow versions ---------------------------------------------------------------------------


def flow_document(description: str) -> dict[str, Any]:
    flow = yaml.safe_load((REPO / "flows" / "inbound-ivr.yaml").read_text())
    flow["description"] = description
    return flow


def kept(controller: runner.Controller) -> int:
    gc.collect()
    return controller.flows.versions_kept


def test_replaced_versions_are_freed_unless_a_call_holds_one(
    api: ApiClient, controller: runner.Controller
) -> None:
    store = controller.flows
    served = kept(controller)
    assert served == len([f for f in store.flow_ids if store.get(f) is not None])
    for edit in range(20):
        answer = api.request("PUT", "/api/flows/inbound-ivr", flow_document(f"edit {edit}"))
        assert answer.status == 200, answer.body
    # 20 replaced versions: only the last few are kept, for calls another process dialled
    assert kept(controller) == served + RECENT_VERSIONS

    held = store.get("inbound-ivr")  # what a call does: it keeps the Flow it started on
    assert held is not None
    for edit in range(RECENT_VERSIONS + 2):
        api.request("PUT", "/api/flows/inbound-ivr", flow_document(f"while a call runs {edit}"))
    assert kept(controller) == served + RECENT_VERSIONS + 1
    assert store.get_version("inbound-ivr", held.version) is held  # a resumed call finds it
    version = held.version
    del held  # the call ended
    assert kept(controller) == served + RECENT_VERSIONS
    current = store.get("inbound-ivr")
    assert current is not None and store.get_version("inbound-ivr", version) is current

    del current
    assert api.request("DELETE", "/api/flows/inbound-ivr").status == 204
    assert kept(controller) == served - 1  # deleted: nothing of it is kept


def test_a_program_runner_holds_the_version_it_runs(controller: runner.Controller) -> None:
    store = controller.flows
    flow = store.get("payment-reminder")
    assert flow is not None
    version = flow.version
    program_runner = ProgramRunner(
        "p1",
        store=None,  # type: ignore[arg-type]  (the pinned version is found: no store call)
        placer=None,  # type: ignore[arg-type]
        flows=store,
        owner="test",
        gateways=GatewayLoad(),
        global_bucket=TokenBucket(1.0, 1.0),
    )
    program = SimpleNamespace(flow_version=version, spec=SimpleNamespace(flow="payment-reminder"))
    assert program_runner._flow(program) is flow  # type: ignore[arg-type]
    del flow
    path = store.status("payment-reminder").path  # type: ignore[union-attr]
    edited = yaml.safe_load(path.read_text())
    edited["description"] = "a new version"
    path.write_text(yaml.safe_dump(edited, sort_keys=False))
    store.load_file(path)
    gc.collect()
    pinned = store.get_version("payment-reminder", version)
    assert pinned is not None and pinned.version == version  # still there for the program


# -- bounds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"retries": {"busy": {"after": 1e300}}}, "retries.busy.after"),
        ({"retries": {"busy": {"after": float("nan")}}}, "retries.busy.after"),
        ({"retries": {"busy": {"after": float("inf")}}}, "retries.busy.after"),
        ({"retries": {"busy": {"after": "9" * 400}}}, "retries.busy.after"),
        ({"retries": {"busy": {"after": "91d"}}}, "retries.busy.after"),
        ({"retries": {"busy": {"after": 60, "times": 10**9}}}, "retries.busy.times"),
        ({"maxAttempts": 10**6}, "maxAttempts"),
        ({"pacing": {"maxConcurrent": 10**9}}, "pacing.maxConcurrent"),
        ({"pacing": {"callsPerSecond": float("inf")}}, "pacing.callsPerSecond"),
        ({"pacing": {"callsPerSecond": float("nan")}}, "pacing.callsPerSecond"),
        ({"pacing": {"gatewayLimits": {"gw1": 10**9}}}, "pacing.gatewayLimits.gw1"),
        ({"window": {"excludedDates": ["2026-01-01"] * 1001}}, "window.excludedDates"),
    ],
)
def test_every_program_duration_and_count_has_a_bound(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as refused:
        parse_spec({**SPEC, **extra})
    message = str(refused.value)
    assert message.startswith(field) and "\n" not in message and len(message) < 200


def test_the_api_refuses_an_unbounded_retry_delay_naming_the_field(api: ApiClient) -> None:
    spec = {**SPEC, "retries": {"busy": {"after": 1e300, "times": 3}}}
    answer = api.request("POST", "/api/programs", {"id": "march", "spec": spec})
    assert answer.status == 422
    assert "retries.busy.after" in answer.json()["error"]
    assert api.request("GET", "/api/programs/march").status == 404  # nothing was stored


def test_a_spec_stored_before_the_bounds_still_reads_and_exports() -> None:
    raw = {**SPEC, "retries": {"busy": {"after": 1e300, "times": 10**9}}, "maxAttempts": 10**6}
    row = program_row(("old", json.dumps(raw), "running", None, "v1", 0.0, 0.0, None, None))
    busy = row.spec.retry_rule("busy")
    assert busy is not None and busy.after == model.MAX_DURATION
    assert busy.times == model.MAX_TIMES and row.spec.max_attempts == model.MAX_TIMES
    assert iso_time(1e300) is None  # a next attempt stored as 1e300 exports as null, not 500


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("media_timeout", ".nan"),
        ("media_timeout", ".inf"),
        ("command_timeout", "1e300"),
        ("call_deadline", "-1"),
        ("max_calls", "100000000"),
        ("api_max_body", "100000000000"),
        ("freeswitch_sps", ".inf"),
    ],
)
def test_every_numeric_setting_has_a_range(tmp_path: Path, name: str, text: str) -> None:
    config = tmp_path / "callflow.yaml"
    config.write_text(f"{name}: {text}\n")
    with pytest.raises(ConfigError, match=name):
        load_settings(config_file=config, environ={})


def test_a_numeric_setting_from_the_environment_is_bounded_too() -> None:
    with pytest.raises(ConfigError, match="media_timeout"):
        load_settings(environ={"CALLFLOW_MEDIA_TIMEOUT": "inf"})


# -- PostgreSQL down -------------------------------------------------------------------------


def test_programs_answer_503_while_postgresql_is_down(tmp_path: Path, flows_dir: Path) -> None:
    with throwaway_cluster() as cluster:
        settings = api_settings(tmp_path, flows_dir, programs_db=cluster.new_database())
        built = runner.build(settings)
        built.start()
        try:
            api = client_for(built)
            created = api.request("POST", "/api/programs", {"id": "march", "spec": SPEC})
            assert created.status == 201, created.body
            assert api.request("GET", "/api/programs/march").status == 200
            cluster.stop()
            for method, path in (
                ("GET", "/api/programs/march"),
                ("GET", "/api/programs"),
                ("GET", "/api/programs/march/results?format=csv"),
                ("POST", "/api/programs/march/start"),
            ):
                answer = api.request(method, path)
                assert answer.status == 503, (method, path, answer.status, answer.body)
                assert "program database" in answer.json()["error"]
            assert api.request("GET", "/healthz").status == 200  # calls are still served
        finally:
            built.stop(drain_seconds=5)


# -- CSV formula triggers --------------------------------------------------------------------

TRIGGERS = [
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "\u3000=1+1",  # an ideographic space, then =
    "|cmd",
    "\uff1d1+1",  # fullwidth =
    "\uff0b1",  # fullwidth +
    "\uff0d1",  # fullwidth -
    "\uff20SUM(A1)",  # fullwidth @
]


@pytest.mark.parametrize("text", TRIGGERS)
def test_every_formula_trigger_is_quoted(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["Amina", " Amina", "Casablanca-Anfa", "", "1200"])
def test_plain_text_is_left_alone(text: str) -> None:
    assert spreadsheet_safe(text) == text


def test_the_exported_csv_quotes_every_trigger(api: ApiClient) -> None:
    assert api.request("POST", "/api/programs", {"id": "p1", "spec": SPEC}).status == 201
    contacts = [
        {"phone": f"06000000{index:02d}", "note": text} for index, text in enumerate(TRIGGERS)
    ]
    imported = api.request("POST", "/api/programs/p1/contacts", contacts)
    assert imported.status == 200 and imported.json()["invalid"] == [], imported.body
    stored = {
        entry["contact"]["phone"]: entry["contact"]["customAttributes"]["note"]
        for entry in api.request("GET", "/api/programs/p1/results").json()["results"]
    }
    exported = api.request("GET", "/api/programs/p1/results?format=csv").body.decode()
    rows = list(csv.DictReader(io.StringIO(exported, newline="")))
    assert len(rows) == len(TRIGGERS)
    for row in rows:
        assert row["attr.note"] == "'" + stored[row["phone"]], row
