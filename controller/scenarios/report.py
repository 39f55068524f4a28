"""How a run is shown: text for people, JSON for tools, JUnit XML for CI systems.

Text: a line per scenario file, then each failed scenario with its diffs and what the call
actually did, then the coverage table and a summary line. JUnit XML: one `<testsuite>` per
scenario file, one `<testcase>` per scenario (classname: the flow id), a `<failure>` whose
text is the same diff the terminal shows.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from controller.scenarios.compare import Failure, actual_summary
from controller.scenarios.coverage import FlowCoverage, table
from controller.scenarios.coverage import as_json as coverage_json
from controller.scenarios.runner import Outcome


@dataclass(slots=True)
class Result:
    """One scenario's outcome and verdict."""

    outcome: Outcome
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def scenario(self) -> Any:
        return self.outcome.scenario

    def diff_lines(self) -> list[str]:
        lines = []
        for failure in self.failures:
            lines.append(f"  {failure.summary}")
            lines.extend(failure.details)
        if self.outcome.record is not None:
            lines.extend(f"  {line}" for line in actual_summary(self.outcome.record))
        return lines


@dataclass(slots=True)
class Report:
    results: list[Result]
    coverage: dict[str, FlowCoverage]
    seconds: float = 0.0
    stood_in: set[tuple[str, str]] = field(default_factory=set)  # (language, token)
    min_coverage: float | None = None

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.passed]

    def below_minimum(self) -> list[FlowCoverage]:
        if self.min_coverage is None:
            return []
        return [c for c in self.coverage.values() if c.percent < self.min_coverage]

    @property
    def passed(self) -> bool:
        return not self.failed and not self.below_minimum()


def text(report: Report) -> str:
    lines: list[str] = []
    by_file: dict[str, list[Result]] = defaultdict(list)
    for result in report.results:
        by_file[result.scenario.file].append(result)
    for file, results in by_file.items():
        failed = sum(not r.passed for r in results)
        verdict = f"{len(results) - failed} passed" + (f", {failed} FAILED" if failed else "")
        lines.append(f"{file}: {len(results)} scenario(s), {verdict}")
    for result in report.failed:
        lines.append("")
        lines.append(f"FAIL {result.scenario.where}: {result.scenario.name}")
        lines.extend(result.diff_lines())
    if report.coverage:
        lines.append("")
        lines.append("output coverage (wired outputs the scenarios took):")
        lines.extend(f"  {line}" for line in table(report.coverage))
    if report.stood_in:
        languages = sorted({language for language, _ in report.stood_in})
        lines.append("")
        lines.append(
            f"note: {len(report.stood_in)} dictionary clip(s) missing from the audio root "
            f"({', '.join(languages)}) played as silent stand-ins; --strict-audio to fail instead"
        )
    for coverage in report.below_minimum():
        lines.append(
            f"coverage of {coverage.flow_id} is {coverage.percent:.1f}%, below "
            f"--min-coverage {report.min_coverage:g}%"
        )
    failed = len(report.failed)
    lines.append("")
    lines.append(
        f"{len(report.results)} scenario(s): {len(report.results) - failed} passed, "
        f"{failed} failed ({report.seconds:.2f} s)"
    )
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> dict[str, Any]:
    scenarios = []
    for result in report.results:
        record = result.outcome.record
        scenarios.append(
            {
                "file": result.scenario.file,
                "line": result.scenario.line,
                "name": result.scenario.name,
                "flowId": result.scenario.flow_id,
                "passed": result.passed,
                "failures": [
                    {"field": f.field, "message": f.summary, "details": f.details}
                    for f in result.failures
                ],
                "callId": record.callId if record else None,
                "path": [s.nodeId for s in record.path] if record else [],
                "result": record.result if record else None,
                "seconds": round(result.outcome.seconds, 3),
            }
        )
    return {
        "passed": report.passed,
        "scenarioCount": len(report.results),
        "failedCount": len(report.failed),
        "seconds": round(report.seconds, 3),
        "scenarios": scenarios,
        "coverage": coverage_json(report.coverage),
        "standInClips": sorted(f"{language}:{token}" for language, token in report.stood_in),
    }


def junit(report: Report) -> str:
    """JUnit XML (the Ant/Jenkins schema most CI systems read)."""
    below = report.below_minimum()
    root = ET.Element(
        "testsuites",
        name="callflow test",
        tests=str(len(report.results) + len(below)),
        failures=str(len(report.failed) + len(below)),
        time=f"{report.seconds:.3f}",
    )
    by_file: dict[str, list[Result]] = defaultdict(list)
    for result in report.results:
        by_file[result.scenario.file].append(result)
    for file, results in by_file.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=file,
            tests=str(len(results)),
            failures=str(sum(not r.passed for r in results)),
            errors="0",
            time=f"{sum(r.outcome.seconds for r in results):.3f}",
        )
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=result.scenario.flow_id,
                name=result.scenario.name,
                file=result.scenario.file,
                line=str(result.scenario.line),
                time=f"{result.outcome.seconds:.3f}",
            )
            if not result.passed:
                failure = ET.SubElement(
                    case, "failure", message=result.failures[0].summary, type="ScenarioFailed"
                )
                failure.text = "\n".join(result.diff_lines())
    if below:
        suite = ET.SubElement(
            root, "testsuite", name="coverage", tests=str(len(below)), failures=str(len(below))
        )
    for coverage in below:
        case = ET.SubElement(suite, "testcase", classname=coverage.flow_id, name="min-coverage")
        ET.SubElement(
            case,
            "failure",
            message=f"coverage {coverage.percent:.1f}% < {report.min_coverage:g}%",
        ).text = ", ".join(coverage.missed())
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
