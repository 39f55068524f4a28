"""A `callflow test` run from paths to a report: find, read, run, check, measure.

Paths may be scenario files (`*.test.yaml`), flow files (their `<flow id>.test.yaml` beside
them is run) or directories (searched recursively for both; hidden folders are skipped).
Every flow found is in the coverage table, so a flow without scenarios shows up at 0 %.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from controller.flows.loader import discover, flow_id_for, is_flow_file, load_flow_file
from controller.flows.model import Flow
from controller.scenarios.compare import check
from controller.scenarios.coverage import measure
from controller.scenarios.report import Report, Result
from controller.scenarios.runner import CONCURRENCY, ScenarioRunner
from controller.scenarios.spec import (
    SCENARIO_SUFFIXES,
    ScenarioFile,
    is_scenario_file,
    load_scenario_file,
)


class UsageError(Exception):
    """The command was used wrongly or a scenario file is wrong (exit code 2)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(slots=True)
class Found:
    scenario_files: list[Path] = field(default_factory=list)
    flow_files: list[Path] = field(default_factory=list)


def _add(paths: list[Path], path: Path) -> None:
    if all(path.resolve() != known.resolve() for known in paths):
        paths.append(path)


def find(paths: list[Path]) -> Found:
    found = Found()
    for path in paths:
        if not path.exists():
            raise UsageError([f"no such file or directory: {path}"])
        if path.is_dir():
            for scenario in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in scenario.relative_to(path).parts)
                if scenario.is_file() and is_scenario_file(scenario) and not hidden:
                    _add(found.scenario_files, scenario)
            for flow in discover([path]):
                _add(found.flow_files, flow)
        elif is_scenario_file(path):
            _add(found.scenario_files, path)
        elif is_flow_file(path):
            _add(found.flow_files, path)
            for suffix in SCENARIO_SUFFIXES:
                beside = path.with_name(flow_id_for(path) + suffix)
                if beside.is_file():
                    _add(found.scenario_files, beside)
        else:
            raise UsageError([f"{path}: not a scenario file (*.test.yaml), a flow or a directory"])
    if not found.scenario_files and not found.flow_files:
        raise UsageError(["no scenario files (*.test.yaml) or flows found"])
    return found


@dataclass(slots=True)
class Loaded:
    files: list[ScenarioFile]
    flows: dict[str, Path]  # every flow of the run, by id
    flow_problems: list[str]  # flows that do not load: their scenarios cannot pass
    tested: set[str]


def load(found: Found, *, audio: Path) -> Loaded:
    """Read every scenario file (UsageError listing every mistake) and collect the flows."""
    files = [load_scenario_file(path, audio_root=audio) for path in found.scenario_files]
    errors = [error for file in files for error in file.errors]
    if errors:
        raise UsageError(errors)
    flows: dict[str, Path] = {}
    for path in [*found.flow_files, *(f.flow_path for f in files if f.flow_path)]:
        flow_id = flow_id_for(path)
        known = flows.setdefault(flow_id, path)
        if known.resolve() != path.resolve():
            raise UsageError(
                [f"flow id {flow_id!r} is both {known} and {path}: test them in separate runs"]
            )
    problems: list[str] = []
    tested = {flow_id_for(f.flow_path) for f in files if f.flow_path}
    seen: set[str] = set()
    for file in files:
        if file.flow_path is not None and str(file.flow_path) not in seen:
            seen.add(str(file.flow_path))
            problems.extend(file.flow_problems)
    for flow_id, path in flows.items():
        if flow_id not in tested and str(path) not in seen:
            problems.extend(p.as_text() for p in load_flow_file(path, audio_root=audio).errors)
    return Loaded(files, flows, problems, tested)


def run(
    loaded: Loaded,
    *,
    audio: Path,
    stand_in_clips: bool = True,
    concurrency: int = CONCURRENCY,
    min_coverage: float | None = None,
) -> Report:
    started = time.monotonic()
    scenarios = [scenario for file in loaded.files for scenario in file.scenarios]
    flow_paths = list(loaded.flows.values())
    flows: dict[str, Flow] = {}
    stood_in: set[tuple[str, str]] = set()
    if scenarios:
        with ScenarioRunner(
            flow_paths, audio=audio, stand_in_clips=stand_in_clips, concurrency=concurrency
        ) as runner:
            outcomes = runner.run(scenarios)
            flows = dict(runner.flows)
            if runner.dictionaries is not None:
                stood_in = set(runner.dictionaries.stood_in)
    else:
        outcomes = []
    for flow_id, path in loaded.flows.items():
        if flow_id not in flows:
            result = load_flow_file(path, audio_root=audio)
            if result.flow is not None:
                flows[flow_id] = result.flow
    results = [Result(o, check(o, flows.get(o.scenario.flow_id))) for o in outcomes]
    coverage = measure(
        flows,
        ((o.scenario.flow_id, o.record) for o in outcomes),
        tested=loaded.tested,
    )
    return Report(
        results,
        coverage,
        seconds=time.monotonic() - started,
        stood_in=stood_in,
        min_coverage=min_coverage,
    )
