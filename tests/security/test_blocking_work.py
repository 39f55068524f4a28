"""Issue #14, section 5: work that blocked every call.

- Validating, writing and reloading a flow, and parsing a big request body, run on worker
  threads: while each is held in progress (an event), the controller still answers over
  HTTP, so its loop, which serves every call, is free. (How long the loop may stall is
  measured by `python -m bench.loop_stall`, docs/bench-runtime.md, not asserted here.)
- Regular expressions from flows and routes run on RE2: `^(a+)+$` against `a`s and `!`
  (2.4 s with Python's re for 27 characters, x4 per two more) is answered at once, and
  patterns RE2 cannot run are refused when the flow or the settings are loaded.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import pytest
import yaml
from support.api_client import REPO, ApiClient

from controller import patterns, runner
from controller.api import flows as flows_api
from controller.api import request as request_module
from controller.config import load_settings
from controller.exceptions import ConfigError
from controller.flows.loader import load_flow_file
from controller.flowstore import FlowStore
from controller.nodes import condition
from controller.simulator import collect

WAIT = 10.0  # seconds: the most any event below is waited for
CATASTROPHIC = r"^(a+)+$"
VALIDATE = "/api/flows/validate"


class HeldWork:
    """Wraps a function so that each call, wherever it runs, says it started and then
    waits for `release` before doing the work; notes the thread it ran on."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.threads: list[int] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.append(threading.get_ident())
        self.started.set()
        self.release.wait(WAIT)  # on the loop's thread, this would hold every greenlet
        try:
            return self.function(*args, **kwargs)
        finally:
            self.finished.set()

    def wait_started(self) -> None:
        """Waits on a pool thread, so the loop keeps running (as it must, to start it)."""
        assert gevent.get_hub().threadpool.apply(self.started.wait, (WAIT,)), "never started"


def answered_while_held(api: ApiClient, work: HeldWork, action: Callable[[], Any]) -> Any:
    """Start `action` (a request that does `work`), wait until the work is in progress,
    check the controller answers /healthz meanwhile, then let the work finish."""
    running = gevent.spawn(action)
    try:
        work.wait_started()
        health = api.request("GET", "/healthz")
        assert health.status == 200
        assert not work.finished.is_set(), "/healthz waited for the work: it ran on the loop"
    finally:
        work.release.set()
    result = running.get(timeout=WAIT * 3)
    assert threading.get_ident() not in work.threads, "the work ran on the loop's thread"
    return result


def test_validating_a_flow_through_the_api_leaves_the_loop_free(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = HeldWork(flows_api.load_flow_data)
    monkeypatch.setattr(flows_api, "load_flow_data", work)
    flow = yaml.safe_load((REPO / "flows" / "inbound-ivr.yaml").read_text())
    answer = answered_while_held(api, work, lambda: api.request("POST", VALIDATE, flow))
    assert answer.status == 200 and answer.json()["valid"] is True


def test_writing_a_flow_through_the_api_leaves_the_loop_free(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = HeldWork(flows_api.load_flow_text)
    monkeypatch.setattr(flows_api, "load_flow_text", work)
    flow = yaml.safe_load((REPO / "flows" / "inbound-ivr.yaml").read_text())
    flow["description"] = "replaced while the loop serves"
    answer = answered_while_held(
        api, work, lambda: api.request("PUT", "/api/flows/inbound-ivr", flow)
    )
    assert answer.status == 200, answer.body
    assert answer.json()["description"] == "replaced while the loop serves"


def test_a_big_request_body_is_parsed_off_the_loop(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = HeldWork(request_module._parse)
    monkeypatch.setattr(request_module, "_parse", work)
    padding = "x" * (request_module.INLINE_PARSE_BYTES + 1)
    body = {"name": "Padded", "description": padding, "graph": {"startNodeId": "a", "nodes": []}}
    answer = answered_while_held(api, work, lambda: api.request("POST", VALIDATE, body))
    assert answer.status == 200 and answer.json()["valid"] is False  # no nodes: a report


def test_reloading_an_edited_flow_file_leaves_the_loop_free(
    api: ApiClient,
    controller: runner.Controller,
    flows_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import controller.flowstore as flowstore_module  # noqa: PLC0415 (the module, to patch)

    work = HeldWork(flowstore_module.load_flow_file)
    monkeypatch.setattr(flowstore_module, "load_flow_file", work)
    path = flows_dir / "inbound-ivr.yaml"
    edited = yaml.safe_load(path.read_text())
    edited["description"] = "edited on disk"
    path.write_text(yaml.safe_dump(edited, sort_keys=False))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    store = controller.flows
    answered_while_held(api, work, store.rescan)  # what SIGHUP does
    serving = store.get("inbound-ivr")
    assert serving is not None and serving.description == "edited on disk"


# -- catastrophic regular expressions --------------------------------------------------------


def in_a_thread(function: Callable[[], Any]) -> Any:
    """`function()` on a daemon thread, given WAIT seconds: a backtracking engine would
    still be running (its thread is left to die with the process)."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(function()), daemon=True)
    thread.start()
    thread.join(WAIT)
    assert not thread.is_alive(), "the pattern is still being tested: it backtracks"
    return results[0]


@pytest.mark.parametrize("length", [26, 40, patterns.MAX_TEXT - 1])
def test_a_condition_with_a_catastrophic_pattern_answers_at_once(length: int) -> None:
    rule = {"variable": "contact.name", "operator": "matches", "value": CATASTROPHIC}
    text = "a" * length + "!"
    assert in_a_thread(lambda: condition.evaluate(rule, lambda _: text, str)) is False
    assert condition.evaluate(rule, lambda _: "aaaa", str) is True


def test_text_over_the_bound_is_a_node_error_not_a_guess() -> None:
    rule = {"variable": "contact.name", "operator": "matches", "value": "a"}
    with pytest.raises(condition._Incomparable, match="patterns test at most"):
        condition.evaluate(rule, lambda _: "a" * (patterns.MAX_TEXT + 1), str)


def test_patterns_run_on_re2() -> None:
    assert type(patterns.compile_pattern("a+")).__module__.startswith("re2")


def flow_with_pattern(tmp_path: Path, pattern: str) -> Path:
    flow = {
        "name": "Pattern",
        "graph": {
            "startNodeId": "check",
            "nodes": [
                {
                    "id": "check",
                    "type": "condition",
                    "config": {"variable": "contact.name", "operator": "matches", "value": pattern},
                    "outputs": {"onTrue": "end", "onFalse": "end", "onError": "end"},
                },
                {"id": "end", "type": "hangup"},
            ],
        },
    }
    path = tmp_path / "pattern.yaml"
    path.write_text(yaml.safe_dump(flow, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"^(a)\1$", "invalid escape sequence"),  # a backreference
        (r"^(?=a)a$", "invalid perl operator"),  # lookahead
        (r"^a\Z", "invalid escape sequence"),  # \Z: RE2 says \z
        ("a" * (patterns.MAX_PATTERN + 1), "longer than"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_naming_file_node_and_field(
    tmp_path: Path, pattern: str, reason: str
) -> None:
    path = flow_with_pattern(tmp_path, pattern)
    result = load_flow_file(path)
    assert not result.valid
    [problem] = result.errors
    text = problem.as_text()
    assert problem.code == "invalid-pattern"
    assert str(path) in text and "check" in text and "/config/value" in text
    assert reason in text and "\n" not in text


def test_a_refused_pattern_is_reported_by_the_api(api: ApiClient, tmp_path: Path) -> None:
    flow = yaml.safe_load(flow_with_pattern(tmp_path, r"(a)\1").read_text())
    answer = api.request("POST", "/api/flows/validate", flow)
    assert answer.status == 200
    report = json.dumps(answer.json())
    assert answer.json()["valid"] is False and "invalid-pattern" in report and "RE2" in report


def test_a_route_pattern_re2_cannot_run_is_refused_at_load(tmp_path: Path) -> None:
    config = tmp_path / "callflow.yaml"
    config.write_text(yaml.safe_dump({"routes": [{"match": r"(1)\1", "flow": "x"}]}))
    with pytest.raises(ConfigError, match=r"routes .*invalid escape sequence"):
        load_settings(config_file=config, environ={})


def test_a_catastrophic_route_pattern_cannot_hold_the_caller_s_number(tmp_path: Path) -> None:
    from controller.config import Route  # noqa: PLC0415

    store = FlowStore(tmp_path, routes=(Route(match=r"(1+)+2", flow="x"),), default_flow="d")
    number = "1" * 5000 + "3"
    assert in_a_thread(lambda: store.select({"destination_number": number}))[0] == "d"
    too_long = "1" * (patterns.MAX_TEXT + 1)
    assert store.select({"destination_number": too_long})[0] == "d"  # matches no route


def test_the_simulator_tests_digits_with_re2_when_it_can() -> None:
    digits = "1" * 60 + "3"
    assert in_a_thread(lambda: collect._matches(r"^(1+)+2$", digits)) is False
    assert collect._matches(r"^(1)\1$", "11") is True  # a backreference: PCRE's way


def test_a_dtmf_pattern_is_checked_against_branch_keys_with_re2(tmp_path: Path) -> None:
    key = "1" * 63 + "3"  # a branch key of 64 digits: Python's re would backtrack for ages
    flow = {
        "name": "Digits",
        "graph": {
            "startNodeId": "ask",
            "nodes": [
                {
                    "id": "ask",
                    "type": "dtmf",
                    "config": {
                        "mode": "multi_digit",
                        "variable": "entry",
                        "multiDigitConfig": {
                            "minDigits": 1,
                            "maxDigits": 64,
                            "pattern": r"(1+)+2",
                        },
                        "prompt": [{"type": "audioFile", "audioId": "confirmed-audio-id"}],
                    },
                    "outputs": {"branches": {key: "end"}, "onSuccess": "end"},
                },
                {"id": "end", "type": "hangup"},
            ],
        },
    }
    path = tmp_path / "digits.yaml"
    path.write_text(yaml.safe_dump(flow, sort_keys=False))
    result = in_a_thread(lambda: load_flow_file(path))
    assert [p.code for p in result.errors] == ["branch-not-allowed"]


def test_importing_contacts_parses_them_off_the_loop(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from controller.api import programs as programs_api  # noqa: PLC0415 (the module, to patch)

    spec = {"name": "March", "flow": "payment-reminder", "timezone": "UTC", "defaultCountry": "MA"}
    assert api.request("POST", "/api/programs", {"id": "march", "spec": spec}).status == 201
    work = HeldWork(programs_api.parse_contacts)
    monkeypatch.setattr(programs_api, "parse_contacts", work)
    contacts = [{"phone": "0600000001", "name": "Amina"}]
    answer = answered_while_held(
        api, work, lambda: api.request("POST", "/api/programs/march/contacts", contacts)
    )
    assert answer.status == 200 and answer.json()["added"] == 1
