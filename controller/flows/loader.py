"""Load flow files: read, validate, and build the runnable `Flow` when there is no error.

A flow's id is its file stem (a slug): dialplans and route tables refer to flows by it. Its
version is a hash of the file's bytes, so any edit is a new version and a call can be pinned
to the exact text it started with.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.flows.model import Flow
from controller.flows.problems import Problem, Severity, error
from controller.flows.schema import FLOW_ID_PATTERN
from controller.flows.source import Document, SourceError, parse_text, read_document
from controller.flows.validate import locate, validate_document

FLOW_SUFFIXES = (".yaml", ".yml", ".json")
# Files that live beside flows but are not flows: scenario tests (issue 8) and schemas.
NOT_FLOWS = (".test.yaml", ".test.yml", ".test.json", ".schema.json")


@dataclass(slots=True)
class LoadResult:
    source: str
    flow_id: str
    flow: Flow | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def valid(self) -> bool:
        return not self.errors


def version_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:12]


def flow_id_for(path: Path) -> str:
    return path.name.split(".")[0]


def load_document(
    document: Document, *, flow_id: str, version: str, source: str, audio_root: Path | None = None
) -> LoadResult:
    data, problems = validate_document(document.data, audio_root=audio_root)
    if not re.fullmatch(FLOW_ID_PATTERN, flow_id):
        problems.insert(
            0,
            error(
                "invalid-flow-id",
                f"flow id {flow_id!r} (the file name) must be lower-case letters, digits, '-' or "
                "'_', starting with a letter or digit, at most 64 characters",
            ),
        )
    declared = document.data.get("id")
    if isinstance(declared, str) and declared != flow_id:
        problems.insert(
            0,
            error(
                "id-mismatch",
                f"id {declared!r} does not match the file name {flow_id!r}",
                pointer="/id",
            ),
        )
    problems = locate(problems, file=source, data=document.data, line_of=document.line_of)
    result = LoadResult(source=source, flow_id=flow_id, flow=None, problems=problems)
    if result.valid:
        result.flow = Flow.from_document(data, flow_id=flow_id, version=version, source=source)
    return result


def _unreadable(exc: SourceError, source: str, flow_id: str) -> LoadResult:
    problem = Problem(Severity.ERROR, "unreadable", exc.message, file=source, line=exc.line)
    return LoadResult(source=source, flow_id=flow_id, flow=None, problems=[problem])


def load_flow_file(
    path: Path, *, audio_root: Path | None = None, display: str | None = None
) -> LoadResult:
    source = display or str(path)
    flow_id = flow_id_for(path)
    try:
        document, raw = read_document(path)
    except SourceError as exc:
        return _unreadable(exc, source, flow_id)
    return load_document(
        document, flow_id=flow_id, version=version_of(raw), source=source, audio_root=audio_root
    )


def load_flow_data(
    data: Any, *, flow_id: str, source: str = "<request>", audio_root: Path | None = None
) -> LoadResult:
    """Validate a document that arrived as data (the HTTP API), not as a file."""
    if not isinstance(data, dict):
        problem = error("unreadable", "a flow must be a mapping (name, description, graph)")
        return LoadResult(
            source=source,
            flow_id=flow_id,
            flow=None,
            problems=locate([problem], file=source, data=None),
        )
    raw = json.dumps(data, sort_keys=True).encode()
    return load_document(
        Document(data),
        flow_id=flow_id,
        version=version_of(raw),
        source=source,
        audio_root=audio_root,
    )


def load_flow_text(
    text: str, *, flow_id: str, is_json: bool, source: str, audio_root: Path | None = None
) -> LoadResult:
    try:
        document = parse_text(text, is_json=is_json)
    except SourceError as exc:
        return _unreadable(exc, source, flow_id)
    return load_document(
        document,
        flow_id=flow_id,
        version=version_of(text.encode()),
        source=source,
        audio_root=audio_root,
    )


def is_flow_file(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(FLOW_SUFFIXES) and not name.endswith(NOT_FLOWS)


def discover(paths: Iterable[Path]) -> list[Path]:
    """Flow files named directly, or found under directories (recursively, sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and is_flow_file(p)
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        else:
            found.append(path)
    return found


def check_unique_ids(results: list[LoadResult]) -> None:
    """Two files with one stem (x.yaml and x.json) would claim one flow id: an error on each
    later file, so a route or dialplan never runs a flow chosen by directory order."""
    first: dict[str, LoadResult] = {}
    for result in results:
        earlier = first.setdefault(result.flow_id, result)
        if earlier is not result:
            result.problems.insert(
                0,
                Problem(
                    Severity.ERROR,
                    "duplicate-flow-id",
                    f"flow id {result.flow_id!r} is already defined by {earlier.source}",
                    file=result.source,
                ),
            )
            result.flow = None


def summary(results: list[LoadResult]) -> dict[str, Any]:
    """The JSON report shape shared by `callflow validate --format json` and the API."""
    return {
        "valid": all(r.valid for r in results),
        "errorCount": sum(len(r.errors) for r in results),
        "warningCount": sum(len(r.warnings) for r in results),
        "flows": [
            {
                "file": r.source,
                "flowId": r.flow_id,
                "valid": r.valid,
                "version": r.flow.version if r.flow else None,
                "errors": [p.as_dict() for p in r.errors],
                "warnings": [p.as_dict() for p in r.warnings],
            }
            for r in results
        ],
    }
