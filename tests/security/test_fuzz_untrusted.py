"""Issue #14, section 1: arbitrary text from contacts, callers and the keypad, through every
template of a flow (tests/fixtures/security/every-template.yaml) and through the dialer.

Two properties, checked for every example over real sockets against the simulator:
- nothing FreeSWITCH would expand reached it: the simulator, which expands every application
  argument as FreeSWITCH does, ran no API and referenced no variable from an expansion
  (`assert_nothing_expanded`), and no value an application stored holds a `$`;
- the call wrote its record.

`make test` runs a bounded number of examples (profile "ci"); `make fuzz` runs the "deep"
profile (HYPOTHESIS_PROFILE=deep).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import REPO, Harness, build_harness, close_harness

from controller.dialer import DialRequest, originate_command
from controller.esl.expansion import names_a_variable
from controller.exceptions import NodeError
from controller.simulator.expand import assert_nothing_expanded

FLOW = REPO / "tests" / "fixtures" / "security" / "every-template.yaml"

# What an attacker reaches for, mixed into arbitrary text: expansion forms, ESL and CSV
# separators, quotes, braces, line breaks, NUL, and lone surrogates (bytes that are not UTF-8:
# the wire carries them as %80-%FF, the controller decodes them as surrogate escapes).
PIECES = [
    "${",
    "$${",
    "}",
    "${system touch /tmp/fuzzed}",
    "${api(system id)}",
    "$",
    "\\",
    "%",
    "%FF",
    "'",
    '"',
    ",",
    "{",
    "=",
    "!",
    " ",
    "\r",
    "\n",
    "\x00",
    "\udcff",
    "\udc80",
    "&socket(1.2.3.4:1 async full)",
    "^^:a=1:b=2",
]
hostile_text = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=8).map(
    "".join
)
digits = st.text(alphabet="0123456789*#", max_size=6)


@pytest.fixture(scope="module")
def fuzz_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    root = tmp_path_factory.mktemp("fuzz")
    flows = root / "flows"
    flows.mkdir()
    shutil.copy(FLOW, flows / "every-template.yaml")
    built = build_harness(root, flows)
    try:
        yield built
    finally:
        close_harness(built)


def _expandable(sim_call: Any) -> list[str]:
    outcome = sim_call.wait(timeout=10)
    found = [f"{run.name} {run.arg}" for run in outcome.apps if names_a_variable(run.arg)]
    found += [
        f"{run.name} set {name}={value}"
        for run in outcome.apps
        for name, value in run.variables.items()
        if "$" in value and run.name in ("set", "export", "multiset")
    ]
    return found


CONTACT_FIELDS = ("firstName", "note", "code", "amount")
# What the far end controls, as channel variables.
CHANNEL_FIELDS = ("caller_id_name", "caller_id_number", "destination_number", "sip_h_X-Account")
FIELDS = CONTACT_FIELDS + CHANNEL_FIELDS


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(text=st.fixed_dictionaries(dict.fromkeys(FIELDS, hostile_text)), typed=digits)
def test_arbitrary_text_is_never_expanded_and_every_call_is_recorded(
    fuzz_harness: Harness, text: dict[str, str], typed: str
) -> None:
    contact = {
        "firstName": text["firstName"],
        "note": text["note"],
        "customAttributes": {"code": text["code"], "amount": text["amount"]},
    }
    variables = {name: text[name] for name in CHANNEL_FIELDS}
    # ensure_ascii=False keeps the lone surrogates as they are: invalid UTF-8 on the wire.
    variables["callflow_contact"] = json.dumps(contact, ensure_ascii=False)
    caller = f"press {typed}# after 0.2s" if typed else "silent"
    sim_call = fuzz_harness.place("every-template", caller, variables=variables)
    record = fuzz_harness.record_of(sim_call, timeout=20)
    assert record.endedAt and record.result, record
    assert _expandable(sim_call) == []
    assert_nothing_expanded(fuzz_harness.simulator)


@settings(deadline=None)
@given(
    destination=hostile_text,
    caller_name=hostile_text,
    caller_number=hostile_text,
    value=hostile_text,
    dial_string=hostile_text,
)
def test_an_originate_command_never_carries_text_freeswitch_would_parse(
    destination: str, caller_name: str, caller_number: str, value: str, dial_string: str
) -> None:
    request = DialRequest(
        destination=destination,
        dial_string=dial_string or "sofia/gateway/gw/1",
        timeout_ms=30000,
        caller_id_number=caller_number or None,
        caller_id_name=caller_name or None,
        variables={"x_campaign": value},
        state={"contact": {"firstName": value}},
    )
    try:
        command = originate_command("6f9a0d3e-0000-4000-8000-000000000001", request, ("h", 1))
    except NodeError:
        return
    assert not names_a_variable(command)
    assert "$" not in command.split("&socket", 1)[0]
    assert not any(char in command for char in '\r\n\x00"')
    vars_part = command[len("originate {") : command.index("}")]
    assert all(item.count("=") >= 1 for item in vars_part.split(","))
    assert command.endswith(" '&socket(h:1 async full)'")


def test_the_fuzz_flow_is_the_fixture(fuzz_harness: Harness) -> None:
    assert Path(fuzz_harness.settings.flows, "every-template.yaml").read_text() == (
        FLOW.read_text()
    )
