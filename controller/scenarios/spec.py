"""Scenario files: read, check against their flow, and turn into runnable scenarios.

A scenario file sits beside its flow (`flows/payment-reminder.test.yaml` tests
`flows/payment-reminder.yaml`) or names it with `flow:` (a flow id beside the file, or a path
relative to it). It is read with the flow loader's hardened YAML reader, and every mistake is
reported at once, each naming the file, line, scenario and field:

    flows/x.test.yaml:14: scenario 'busy line': expect.path[2]: no node 'hangup-bsy' in flow
    payment-reminder (did you mean 'hangup-busy'?)

The format (README "Testing flows"): `scenarios:` is a list; each has a `name`, who is on the
other end (`caller`, and for flows that start with a dial node `callee`, see parties.py),
optional `audio`, `contact`, `variables` (channel variables of an inbound call), `hangupAt:
NODE` (the caller hangs up as NODE starts), `failAt: NODE` (FreeSWITCH refuses NODE's first
command, so it takes onError), and `expect`: `path`, `outputs`, `variables`, `result`,
`hangupCause`, `commands`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.flows.loader import FLOW_SUFFIXES, LoadResult, load_flow_file
from controller.flows.model import Flow
from controller.flows.source import SourceError, read_document
from controller.nodes import NODE_TYPES
from controller.scenarios import parties
from controller.scenarios.expect import Expectation, parse_expectation
from controller.scenarios.reader import Reader
from controller.simulator.audio_timeline import AudioTimeline
from controller.simulator.callee import Callee
from controller.simulator.caller import CallerScript

SCENARIO_SUFFIXES = (".test.yaml", ".test.yml", ".test.json")
FILE_KEYS = ("flow", "scenarios")
SCENARIO_KEYS = (
    "name",
    "caller",
    "callee",
    "audio",
    "contact",
    "variables",
    "hangupAt",
    "failAt",
    "expect",
)
_CHANNEL_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
RESERVED_VARIABLES = ("callflow_flow", "callflow_contact", "callflow_state")


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    file: str  # as given on the command line, for messages
    line: int
    flow_id: str
    caller: CallerScript
    callee: Callee | None  # flows that start with a dial node
    audio: AudioTimeline | None = None  # inbound: what the caller's side sends
    contact: dict[str, Any] | None = None
    variables: dict[str, str] = field(default_factory=dict)
    hangup_at: str | None = None
    fail_at: str | None = None
    expect: Expectation = field(default_factory=Expectation)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(slots=True)
class ScenarioFile:
    path: Path
    display: str
    flow_path: Path | None
    flow: Flow | None = None
    flow_problems: list[str] = field(default_factory=list)  # the flow does not load
    scenarios: list[Scenario] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the file itself is wrong


def is_scenario_file(path: Path) -> bool:
    return path.name.lower().endswith(SCENARIO_SUFFIXES)


def flow_id_of(path: Path) -> str:
    return path.name.split(".")[0]


def _flow_beside(directory: Path, flow_id: str) -> Path | None:
    for suffix in FLOW_SUFFIXES:
        candidate = directory / f"{flow_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load_scenario_file(
    path: Path, *, audio_root: Path | None = None, display: str | None = None
) -> ScenarioFile:
    """Read a scenario file and its flow; problems are in `.errors` (the file is wrong) or
    `.flow_problems` (its flow does not load, so its scenarios cannot run)."""
    shown = display or str(path)
    result = ScenarioFile(path, shown, None)
    try:
        document, _ = read_document(path)
    except SourceError as exc:
        line = f":{exc.line}" if exc.line else ""
        result.errors.append(f"{shown}{line}: {exc.message}")
        return result
    reader = Reader(shown, document)
    data = document.data
    reader.unknown_keys(data, FILE_KEYS, pointer="", where="")
    result.flow_path = _resolve_flow(path, data.get("flow"), reader)
    if result.flow_path is not None:
        loaded = load_flow_file(result.flow_path, audio_root=audio_root)
        _take_flow(result, loaded)
    raw_scenarios = data.get("scenarios")
    if not isinstance(raw_scenarios, list) or not raw_scenarios:
        reader.error("/scenarios", "", "'scenarios' must be a non-empty list of scenarios")
        raw_scenarios = []
    names: dict[str, int] = {}
    for index, raw in enumerate(raw_scenarios):
        scenario = _scenario(reader, index, raw, result)
        if scenario is None:
            continue
        if scenario.name in names:
            reader.error(
                f"/scenarios/{index}/name",
                f"scenario {scenario.name!r}",
                f"the name is already used by the scenario at line {names[scenario.name]}",
            )
            continue
        names[scenario.name] = scenario.line
        result.scenarios.append(scenario)
    result.errors.extend(reader.errors)
    return result


def _take_flow(result: ScenarioFile, loaded: LoadResult) -> None:
    result.flow = loaded.flow
    result.flow_problems = [p.as_text() for p in loaded.errors]


def _resolve_flow(path: Path, named: Any, reader: Reader) -> Path | None:
    directory = path.parent
    if named is None:
        found = _flow_beside(directory, flow_id_of(path))
        if found is None:
            reader.error(
                "",
                "",
                f"no flow {flow_id_of(path)}.yaml (or .yml, .json) beside this file; "
                "name the flow it tests with 'flow: <flow id or path>'",
            )
        return found
    if not isinstance(named, str) or not named.strip():
        reader.error("/flow", "flow", "a flow id or a path relative to this file")
        return None
    if "/" in named or named.endswith(FLOW_SUFFIXES):
        candidate = directory / named
        found = candidate if candidate.is_file() else None
    else:
        found = _flow_beside(directory, named)
    if found is None:
        reader.error("/flow", "flow", f"no flow file {named!r} next to {path.name}")
    return found


def _scenario(reader: Reader, index: int, raw: Any, file: ScenarioFile) -> Scenario | None:
    pointer = f"/scenarios/{index}"
    if not isinstance(raw, dict):
        reader.error(pointer, f"scenario {index + 1}", "a scenario is a mapping with a 'name'")
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        reader.error(pointer, f"scenario {index + 1}", "'name' is required (text)")
        return None
    where = f"scenario {name!r}"
    errors_before = reader.count
    reader.unknown_keys(raw, SCENARIO_KEYS, pointer=pointer, where=where)
    flow = file.flow
    dialled = flow is not None and flow.nodes[flow.start_node_id].type == "dial"
    caller = (
        _parse(reader, pointer, raw, "caller", where=where, build=parties.caller_script)
        or CallerScript()
    )
    audio = _parse(reader, pointer, raw, "audio", where=where, build=parties.audio_timeline)
    callee = None
    if dialled:
        text = raw.get("callee", "person")
        try:
            callee = parties.callee(text, caller=caller, audio=audio)
        except ValueError as exc:
            reader.error(f"{pointer}/callee", f"{where}: callee", str(exc))
        if "variables" in raw:
            reader.error(
                f"{pointer}/variables",
                f"{where}: variables",
                "a flow that dials has no channel before its dial: give data as 'contact'",
            )
    elif flow is not None and "callee" in raw:
        reader.error(
            f"{pointer}/callee",
            f"{where}: callee",
            f"flow {flow.id} does not start with a dial node: say what the caller does "
            "with 'caller'",
        )
    contact = raw.get("contact")
    if contact is not None and not isinstance(contact, dict):
        reader.error(f"{pointer}/contact", f"{where}: contact", "a mapping of contact fields")
        contact = None
    variables = _channel_variables(reader, pointer, raw.get("variables"), where)
    hangup_at = _node_ref(reader, pointer, raw, "hangupAt", where=where, flow=flow)
    fail_at = _node_ref(reader, pointer, raw, "failAt", where=where, flow=flow)
    if fail_at is not None and flow is not None:
        node = flow.nodes[fail_at]
        node_type = NODE_TYPES[node.type]
        if node_type.terminal or not node_type.needs_call(node.config):
            reader.error(
                f"{pointer}/failAt",
                f"{where}: failAt",
                f"{fail_at} is a {node.type} node, which sends FreeSWITCH no command to "
                "refuse; failAt takes a node that acts on the call (answer, play, dtmf, "
                "record, set_variable with exportToChannel)",
            )
    expect = parse_expectation(reader, pointer, raw.get("expect"), where, flow)
    if reader.count > errors_before:
        return None
    return Scenario(
        name=name,
        file=file.display,
        line=reader.line(pointer),
        flow_id=flow.id if flow else flow_id_of(file.path),
        caller=caller,
        callee=callee,
        audio=None if dialled else audio,
        contact=contact,
        variables=variables,
        hangup_at=hangup_at,
        fail_at=fail_at,
        expect=expect,
    )


def _parse(reader: Reader, pointer: str, raw: dict, key: str, *, where: str, build: Any) -> Any:
    if key not in raw:
        return None
    try:
        return build(raw[key])
    except (ValueError, TypeError) as exc:
        reader.error(f"{pointer}/{key}", f"{where}: {key}", str(exc))
        return None


def _channel_variables(reader: Reader, pointer: str, raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        reader.error(f"{pointer}/variables", f"{where}: variables", "a mapping name: value")
        return {}
    variables = {}
    for name, value in raw.items():
        at = f"{pointer}/variables/{name}"
        if not _CHANNEL_VARIABLE.match(name) or name in RESERVED_VARIABLES:
            reader.error(at, f"{where}: variables", f"{name!r} cannot be set by a scenario")
        elif isinstance(value, dict | list) or value is None:
            reader.error(at, f"{where}: variables.{name}", "a channel variable is text")
        elif "\n" in str(value):
            reader.error(at, f"{where}: variables.{name}", "line breaks are not allowed")
        else:
            variables[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return variables


def _node_ref(
    reader: Reader, pointer: str, raw: dict, key: str, *, where: str, flow: Flow | None
) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or (flow is not None and value not in flow.nodes):
        reader.unknown_node(f"{pointer}/{key}", f"{where}: {key}", value, flow)
        return None
    return value
