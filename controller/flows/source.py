"""Turn the bytes of a flow file into plain data, safely, with line numbers.

YAML is read with a hardened loader: duplicate keys are errors (PyYAML silently keeps the last
one), mapping keys are always the text the user wrote (YAML 1.1 would turn `1:` into the integer
1 and `on:` into True, which no JSON document can hold), and input that is too large, too deeply
nested or expanded by aliases into something huge is refused before anything walks it.
JSON files are read with the json module under the same rules. Every failure is one
`SourceError` with a one-line message and, where known, a line number — never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 200_000

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SourceError(Exception):
    """The file could not be read as a flow document at all."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(slots=True)
class Document:
    """Parsed data plus the 1-based source line of each JSON pointer (YAML only)."""

    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, pointer: str) -> int | None:
        """The line of `pointer`, or of its nearest enclosing value that has one."""
        while True:
            if pointer in self.lines:
                return self.lines[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class _Constructor:
    """Builds Python data from a composed YAML node graph, recording pointer → line."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.lines: dict[str, int] = {}
        self.expanded = 0

    def build(self, node: yaml.Node, pointer: str, depth: int) -> Any:
        self.expanded += 1
        if self.expanded > MAX_EXPANDED_NODES:
            raise SourceError(
                f"document expands to more than {MAX_EXPANDED_NODES} values (aliases?)",
                node.start_mark.line + 1,
            )
        if depth > MAX_DEPTH:
            raise SourceError(f"nested deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
        self.lines[pointer] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)  # resolves `<<:` merge keys
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise SourceError(
                        "mapping keys must be plain text", key_node.start_mark.line + 1
                    )
                key = str(key_node.value)
                if key in result:
                    raise SourceError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
                result[key] = self.build(value_node, f"{pointer}/{_escape(key)}", depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [
                self.build(item, f"{pointer}/{index}", depth + 1)
                for index, item in enumerate(node.value)
            ]
        return self.loader.construct_object(node, deep=True)


def _check_nesting(text: str) -> None:
    """Refuse deep nesting from the event stream, before the recursive composer sees it."""
    depth = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise SourceError(
                    f"nested deeper than {MAX_DEPTH} levels", event.start_mark.line + 1
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def parse_yaml(text: str) -> Document:
    try:
        _check_nesting(text)
        loader = _BaseLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise SourceError("the file is empty", 1)
            builder = _Constructor(loader)
            data = builder.build(root, "", 0)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SourceError(f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"invalid YAML: {exc}") from None
    return Document(data, builder.lines)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise SourceError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json(text: str) -> Document:
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise SourceError(f"invalid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise SourceError(f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(data) > MAX_DEPTH:
        raise SourceError(f"nested deeper than {MAX_DEPTH} levels")
    return Document(data)


def _depth(value: Any) -> int:
    # Iterative, so a document that json accepted cannot overflow the stack here.
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def parse_text(text: str, *, is_json: bool) -> Document:
    if len(text) > MAX_BYTES:
        raise SourceError(f"file is larger than {MAX_BYTES // 1024} KiB")
    document = parse_json(text) if is_json else parse_yaml(text)
    if not isinstance(document.data, dict):
        kind = type(document.data).__name__ if document.data is not None else "nothing"
        raise SourceError(f"a flow must be a mapping (name, description, graph), not {kind}", 1)
    return document


def read_document(path: Path) -> tuple[Document, bytes]:
    """Read and parse a flow file; returns the document and the raw bytes (for the version)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SourceError(f"file is larger than {MAX_BYTES // 1024} KiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"file is not UTF-8 text (byte {exc.start})") from None
    return parse_text(text, is_json=path.suffix.lower() == ".json"), raw
