"""What a scenario expected against what its call did: failures with readable diffs.

- `path`: the node ids in order, exactly; shown side by side with the first divergence marked.
- `outputs`: `node: output` pairs that must be taken in this order (other steps may come
  between them). `default` matches a step that took the node's `default` wiring; a dtmf
  branch is `branches.<key>`.
- `variables`: each listed variable has that value (others are not looked at); `null` means
  "not set". Scalars compare as text, so `1` matches "1".
- `result`, `hangupCause`: as in the call record.
- `commands`: applications the simulator ran, in order (others may come between): `playback`
  matches by name, `playback welcome` also needs `welcome` in the argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from controller.flows.model import Flow
from controller.records import CallRecord, Step
from controller.scenarios.coverage import edge_taken
from controller.scenarios.runner import Outcome

_MISSING = object()
_PATH = re.compile(r"(?:^|(?<=[\s!])|(?<=://))/(?:[^\s!/]+/)+([^\s!/]+)")
ARG_WIDTH = 48


@dataclass(frozen=True, slots=True)
class Failure:
    field: str  # path, outputs, variables, result, hangupCause, commands, or run
    summary: str
    details: list[str] = field(default_factory=list)


def check(outcome: Outcome, flow: Flow | None) -> list[Failure]:
    failures = [Failure("run", problem) for problem in outcome.problems]
    record = outcome.record
    if record is None:
        if not failures:
            failures.append(Failure("run", "the call left no record"))
        return failures
    expect = outcome.scenario.expect
    if expect.path is not None:
        failures.extend(_path(list(expect.path), [s.nodeId for s in record.path]))
    if expect.outputs is not None:
        failures.extend(_outputs(list(expect.outputs), record.path, flow))
    if expect.variables is not None:
        failures.extend(_variables(expect.variables, record.variables))
    for name, expected, actual in (
        ("result", expect.result, record.result),
        ("hangupCause", expect.hangup_cause, record.hangupCause),
    ):
        if expected is not None and expected != actual:
            failures.append(Failure(name, f"{name}: expected {expected!r}, actual {actual!r}"))
    if expect.commands is not None:
        failures.extend(_commands(list(expect.commands), outcome.apps))
    return failures


def actual_summary(record: CallRecord) -> list[str]:
    """The call as it happened, in two lines, under every failure."""
    steps = []
    for step in record.path:
        steps.append(step.nodeId if step.output is None else f"{step.nodeId} ({step.output})")
    return [
        f"actual path: {' -> '.join(steps) or '(no node ran)'}",
        f"actual result: {record.result}; hangup: {record.hangupCause} by {record.hangupBy}"
        + (f"; error: {record.error}" if record.error else ""),
    ]


def side_by_side(expected: list[str], actual: list[str]) -> tuple[int | None, list[str]]:
    """(first divergent index or None, aligned rows with the divergence marked '>')."""
    first = next(
        (i for i, (e, a) in enumerate(zip(expected, actual, strict=False)) if e != a),
        None if len(expected) == len(actual) else min(len(expected), len(actual)),
    )
    width = max([len("expected"), *(len(item) for item in expected)]) + 2
    rows = [f"      step  {'expected':<{width}}actual"]
    for index in range(max(len(expected), len(actual))):
        mark = ">" if index == first else " "
        left = expected[index] if index < len(expected) else "-"
        right = actual[index] if index < len(actual) else "-"
        rows.append(f"    {mark} {index + 1:>4}  {left:<{width}}{right}")
    return first, rows


def _path(expected: list[str], actual: list[str]) -> list[Failure]:
    first, rows = side_by_side(expected, actual)
    if first is None:
        return []
    return [Failure("path", f"path differs at step {first + 1}", rows)]


def _step_matches(step: Step, node_id: str, output: str, flow: Flow | None) -> bool:
    if step.nodeId != node_id:
        return False
    if step.output == output:
        return True
    node = flow.nodes.get(node_id) if flow is not None else None
    return node is not None and output == "default" and edge_taken(node, step) == "default"


def _outputs(
    expected: list[tuple[str, str]], steps: list[Step], flow: Flow | None
) -> list[Failure]:
    position = 0
    rows: list[str] = []
    missing: int | None = None
    width = max(len(f"{n}: {o}") for n, o in expected) + 2 if expected else 10
    for index, (node_id, output) in enumerate(expected):
        label = f"{node_id}: {output}"
        if missing is not None:
            rows.append(f"      {label:<{width}}(not checked)")
            continue
        found = next(
            (
                i
                for i in range(position, len(steps))
                if _step_matches(steps[i], node_id, output, flow)
            ),
            None,
        )
        if found is not None:
            rows.append(f"      {label:<{width}}step {found + 1}")
            position = found + 1
            continue
        missing = index
        rows.append(f"    > {label:<{width}}{_what_instead(node_id, steps, position)}")
    if missing is None:
        return []
    taken = [f"{s.nodeId}: {s.output}" for s in steps if s.output is not None]
    rows.append(f"    taken: {', '.join(taken) or '(nothing)'}")
    node_id, output = expected[missing]
    return [Failure("outputs", f"outputs: {node_id}: {output} was not taken", rows)]


def _what_instead(node_id: str, steps: list[Step], position: int) -> str:
    later = [(i, s) for i, s in enumerate(steps) if i >= position and s.nodeId == node_id]
    if later:
        index, step = later[0]
        return f"{node_id} took {step.output or 'no output'} at step {index + 1}"
    if position:
        return f"{node_id} did not run after step {position}"
    return f"{node_id} never ran"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _same(expected: Any, actual: Any) -> bool:
    if expected is None:
        return actual is _MISSING or actual is None
    if actual is _MISSING:
        return False
    if isinstance(expected, dict | list) or isinstance(actual, dict | list):
        return bool(expected == actual)
    return _text(expected) == _text(actual)


def _variables(expected: dict[str, Any], actual: dict[str, Any]) -> list[Failure]:
    rows = []
    for name, value in expected.items():
        found = actual.get(name, _MISSING)
        if not _same(value, found):
            shown = "not set" if found is _MISSING else repr(found)
            wanted = "not set" if value is None else repr(value)
            rows.append(f"    {name}: expected {wanted}, actual {shown}")
    if not rows:
        return []
    return [Failure("variables", f"variables: {len(rows)} differ", rows)]


def _command_matches(item: str, app: tuple[str, str]) -> bool:
    name, _, text = item.strip().partition(" ")
    return app[0].lower() == name.lower() and text.strip() in app[1]


def _commands(expected: list[str], apps: list[tuple[str, str]]) -> list[Failure]:
    position = 0
    for index, item in enumerate(expected):
        found = next(
            (i for i in range(position, len(apps)) if _command_matches(item, apps[i])), None
        )
        if found is None:
            rows = [
                f"    {'>' if i == index else ' '} {e}" + ("  (not run)" if i == index else "")
                for i, e in enumerate(expected)
            ]
            ran = [f"{name} {_short(arg)}".strip() for name, arg in apps]
            rows.append(f"    ran: {', '.join(ran) or '(nothing)'}")
            where = f" after {apps[position - 1][0]}" if position else ""
            return [Failure("commands", f"commands: {item!r} did not run{where}", rows)]
        position = found + 1
    return []


def _short(arg: str) -> str:
    """An application's argument with file paths cut to their names, and not too long."""
    arg = _PATH.sub(lambda match: match.group(1), arg)
    return arg if len(arg) <= ARG_WIDTH else arg[: ARG_WIDTH - 3] + "..."
