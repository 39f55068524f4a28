"""Validate a flow document: every problem at once, errors and warnings apart.

Order of work: the schema (shape and types), then defaults, then the graph (ids, references,
reachability, endless loops), then each node type's own rules, then warnings (unhandled dial
outcomes, variables read but never set, audio files that are not there). Node rules run only
on nodes whose shape is already right, so one mistake is reported once.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from controller.audio import resolve_audio
from controller.flows.call_state import call_state_problems
from controller.flows.graph import GraphNode, check_graph, collect_nodes
from controller.flows.problems import Problem, Severity, error, warning
from controller.flows.schema import apply_defaults
from controller.flows.schema_errors import schema_problems
from controller.flows.speech_check import speech_problems
from controller.nodes import NODE_TYPES
from controller.nodes.base import DEFAULT_OUTPUT, NodeSpec, VariableRead
from controller.templates import SYSTEM_VARIABLES, TemplateError, placeholders


def validate_document(data: Any, *, audio_root: Path | None = None) -> tuple[Any, list[Problem]]:
    """Return (the document with defaults applied, problems sorted by position)."""
    data = copy.deepcopy(data)
    # Defaults first, then the schema: a node written without `config` still gets its
    # required fields checked (the schema only looks inside a config that is there).
    apply_defaults(data)
    problems = schema_problems(data)
    nodes = collect_nodes(data)
    if nodes is not None:
        problems += check_graph(data, nodes)
        specs = list(_sound_nodes(data, nodes, problems))
        for spec in specs:
            problems += _template_problems(spec)
            problems += NODE_TYPES[spec.type].check(spec)
        settings = data.get("settings")
        language = settings.get("language") if isinstance(settings, dict) else None
        if not isinstance(language, str) or any(
            p.pointer.startswith("/settings") for p in problems
        ):
            language = None  # already reported; check audio against the root alone
        problems += _dial_warnings(specs)
        start = data.get("graph", {}).get("startNodeId")
        if isinstance(start, str) and not any(p.code == "unknown-target" for p in problems):
            problems += call_state_problems(specs, start)
        problems += _variable_warnings(specs)
        if audio_root is not None:  # None: the caller chose not to check audio
            problems += _audio_warnings(specs, audio_root, language)
            if audio_root.is_dir():
                problems += speech_problems(specs, audio_root, language)
    return data, sorted(problems, key=_position)


def _position(problem: Problem) -> tuple[Any, ...]:
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in problem.pointer.split("/"))
    return (problem.severity is Severity.WARNING, parts, problem.code)


def _sound_nodes(
    data: dict[str, Any], nodes: list[GraphNode], problems: list[Problem]
) -> Iterator[NodeSpec]:
    """Nodes of a known type whose subtree has no schema error yet."""
    for node in nodes:
        if node.type is None:
            continue
        prefix = node.pointer + "/"
        if any(p.pointer.startswith(prefix) for p in problems):
            continue
        raw = data["graph"]["nodes"][node.index]
        yield NodeSpec(
            id=node.id,
            type=node.type,
            label=raw.get("label", ""),
            config=raw["config"],
            outputs=raw["outputs"],
            pointer=node.pointer,
        )


def _template_problems(spec: NodeSpec) -> Iterator[Problem]:
    for pointer, text in NODE_TYPES[spec.type].templates(spec.config):
        try:
            placeholders(text)
        except TemplateError as exc:
            yield error("invalid-template", str(exc), pointer=f"{spec.pointer}/config{pointer}")


def _reads(spec: NodeSpec) -> Iterator[VariableRead]:
    """Every variable a node reads: through its templates, and directly."""
    node_type = NODE_TYPES[spec.type]
    for pointer, text in node_type.templates(spec.config):
        with contextlib.suppress(TemplateError):  # reported by _template_problems
            for name in placeholders(text):
                yield VariableRead(pointer, name)
    yield from node_type.reads(spec.config)


def _dial_warnings(specs: list[NodeSpec]) -> Iterator[Problem]:
    # The guide's advice, "Handle all outcomes": every dial result should route somewhere.
    for spec in specs:
        if spec.type != "dial" or DEFAULT_OUTPUT in spec.outputs:
            continue
        outcomes = [o for o in NODE_TYPES["dial"].outputs if o != DEFAULT_OUTPUT]
        if not spec.config["enableAMD"]:
            outcomes.remove("onVoicemail")  # never taken without detection
        missing = [o for o in outcomes if o not in spec.outputs]
        if missing:
            yield warning(
                "unhandled-dial-outcome",
                f"dial outcomes {', '.join(missing)} are not handled and there is no default: "
                "those calls end without the flow handling them",
                pointer=spec.pointer + "/outputs",
            )


def _variable_warnings(specs: list[NodeSpec]) -> Iterator[Problem]:
    written = {name for spec in specs for name in NODE_TYPES[spec.type].writes(spec.config)}
    for spec in specs:
        for read in _reads(spec):
            pointer = f"{spec.pointer}/config{read.pointer}"
            namespace, _, rest = read.name.partition(".")
            if namespace == "sys":
                if rest not in SYSTEM_VARIABLES:
                    yield warning(
                        "unknown-system-variable",
                        f"{read.name!r} is not a system variable; known: "
                        + ", ".join(f"sys.{n}" for n in SYSTEM_VARIABLES),
                        pointer=pointer,
                    )
            elif namespace == "contact":
                continue  # contact data is supplied per call; any field may be present
            elif read.name not in written:
                yield warning(
                    "unset-variable",
                    f"variable {read.name!r} is read here but no node sets it "
                    "(it will be empty); set it with set_variable, dtmf or record, or use "
                    "sys.* / contact.*",
                    pointer=pointer,
                )


def _audio_warnings(
    specs: list[NodeSpec], audio_root: Path, language: str | None
) -> Iterator[Problem]:
    if not audio_root.is_dir():
        return  # the caller (CLI, server) reports a missing audio root once, not per flow
    for spec in specs:
        for use in NODE_TYPES[spec.type].audio(spec.config):
            lang = use.language or language
            if resolve_audio(audio_root, use.audio_id, lang) is None:
                folders = [str(audio_root / lang)] if lang else []
                folders.append(str(audio_root))
                yield warning(
                    "missing-audio",
                    f"audio {use.audio_id!r} not found: looked for {use.audio_id}.wav, .mp3 "
                    f"and .ogg in {' and '.join(folders)}",
                    pointer=f"{spec.pointer}/config{use.pointer}",
                )


def locate(problems: list[Problem], *, file: str, data: Any, line_of: Any = None) -> list[Problem]:
    """Fill in file, node id and line for each problem from its pointer."""
    nodes = (
        data.get("graph", {}).get("nodes")
        if isinstance(data, dict) and isinstance(data.get("graph"), dict)
        else None
    )
    located = []
    for problem in problems:
        node = problem.node
        match = re.match(r"^/graph/nodes/(\d+)(/|$)", problem.pointer)
        if node is None and match and isinstance(nodes, list):
            index = int(match.group(1))
            if index < len(nodes) and isinstance(nodes[index], dict):
                node_id = nodes[index].get("id")
                node = node_id if isinstance(node_id, str) else f"#{index}"
        line = problem.line
        if line is None and line_of is not None and problem.pointer:
            line = line_of(problem.pointer)
        located.append(replace(problem, file=file, node=node, line=line))
    return located
