"""Turn the bytes of a flow file into plain data, safely, with line numbers.

YAML is read with a hardened loader: duplicate keys are errors (PyYAML silently keeps the last
one), mapping keys are always the text the user wrote (YAML 1.1 would turn `1:` into the integer
1 and `on:` into True, which no JSON document can hold), `<<:` merge keys work as YAML defines
them (a key written beside the merge overrides the merged one), dates stay text, tags that
would build anything but plain data are refused, and input that is too large, too deeply
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
from yaml.composer import Composer

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 200_000
# The text of every key and scalar, counted each time an alias repeats it: a document without
# aliases stays under MAX_BYTES, so this leaves room to reuse anchors, not to multiply them
# (one 1 MB anchor aliased 200 times made every call's record 200 MB).
MAX_EXPANDED_BYTES = 2 * MAX_BYTES

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _event_composer(base: type) -> type:
    """`base`'s C parser, its events composed into nodes by PyYAML's Python composer. The C
    composer builds a whole document in one call that holds the GIL: 550 ms for a 760 KB
    flow, during which the event loop (validating on a worker thread) could not run. In
    Python the GIL is handed over between events; the whole takes as long."""
    if Composer in base.__mro__:
        return base  # no libyaml: SafeLoader composes in Python already

    class EventComposer(Composer, base):  # type: ignore[misc, valid-type]
        def __init__(self, text: str) -> None:
            base.__init__(self, text)
            Composer.__init__(self)

    return EventComposer


_Loader = _event_composer(_BaseLoader)

_MERGE_TAG = "tag:yaml.org,2002:merge"
_YAML_TAG = "tag:yaml.org,2002:"
# Scalars are built as YAML 1.1 reads them; a timestamp (`2025-03-31`), which JSON cannot
# hold, stays the text that was written. Any other tag (!!binary, !!set, !!python/...) is
# refused rather than silently turned into something else.
_SCALAR_TAGS = {_YAML_TAG + name for name in ("str", "int", "float", "bool", "null")}
_TEXT_TAGS = {_YAML_TAG + "timestamp", _YAML_TAG + "value"}


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


_Entry = tuple[yaml.Node, yaml.Node]  # a mapping entry: (key node, value node)


class _Constructor:
    """Builds Python data from a composed YAML node graph, recording pointer → line."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.lines: dict[str, int] = {}
        self.expanded = 0
        self.expanded_bytes = 0
        self.merged: dict[int, dict[str, _Entry]] = {}  # id(mapping node) → its entries
        self.merging: set[int] = set()

    def build(self, node: yaml.Node, pointer: str, depth: int, key_line: int = 0) -> Any:
        """The value of `node`; its pointer's line is the line of its key, when it has one."""
        self.expanded += 1
        if self.expanded > MAX_EXPANDED_NODES:
            raise SourceError(
                f"document expands to more than {MAX_EXPANDED_NODES} values (aliases?)",
                node.start_mark.line + 1,
            )
        if depth > MAX_DEPTH:
            raise SourceError(f"nested deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
        line = node.start_mark.line + 1
        self.lines[pointer] = key_line or line
        if node.tag not in (_YAML_TAG + "map", _YAML_TAG + "seq", *_SCALAR_TAGS, *_TEXT_TAGS):
            tag = node.tag.replace(_YAML_TAG, "!!")
            raise SourceError(f"unsupported YAML tag {tag!r}: a flow holds plain data", line)
        self.count_text(node)
        if isinstance(node, yaml.MappingNode):
            return {
                key: self.build(
                    value_node, f"{pointer}/{_escape(key)}", depth + 1, key_node.start_mark.line + 1
                )
                for key, (key_node, value_node) in self.entries(node).items()
            }
        if isinstance(node, yaml.SequenceNode):
            return [
                self.build(item, f"{pointer}/{index}", depth + 1)
                for index, item in enumerate(node.value)
            ]
        if node.tag in _TEXT_TAGS:
            return str(node.value)
        try:
            value = self.loader.construct_object(node, deep=True)
            if isinstance(value, int):
                str(value)  # hex and base-60 integers can exceed what str() may print
            return value
        except ValueError:  # an integer of more than 4300 digits (sys.int_info)
            preview = str(node.value)[:20]
            raise SourceError(f"number {preview}... has too many digits", line) from None

    def count_text(self, node: yaml.Node) -> None:
        """Add the text this node contributes (a scalar's value, a mapping's keys)."""
        if isinstance(node, yaml.ScalarNode):
            texts: Any = (node.value,)
        elif isinstance(node, yaml.MappingNode):
            texts = self.entries(node)
        else:
            return
        for text in texts:
            self.expanded_bytes += len(text) if text.isascii() else len(text.encode("utf-8"))
        if self.expanded_bytes > MAX_EXPANDED_BYTES:
            raise SourceError(
                f"document expands to more than {MAX_EXPANDED_BYTES // (1024 * 1024)} MiB of "
                "text (aliases repeating a large anchor?)",
                node.start_mark.line + 1,
            )

    def entries(self, node: yaml.MappingNode) -> dict[str, _Entry]:
        """Key → (key node, value node), with `<<:` merge keys resolved as YAML defines them:
        a key written in the mapping wins over a merged one, and an earlier merged mapping over
        a later one; only a key written twice in the mapping itself is a duplicate. Unlike
        PyYAML's flatten_mapping this leaves the node graph as it is (anchored mappings are
        shared), and resolves each mapping once however many aliases refer to it."""
        cached = self.merged.get(id(node))
        if cached is not None:
            return cached
        if id(node) in self.merging:
            raise SourceError("'<<' merges a mapping into itself", node.start_mark.line + 1)
        self.merging.add(id(node))
        own: dict[str, _Entry] = {}
        sources: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                is_list = isinstance(value_node, yaml.SequenceNode)
                sources.extend(value_node.value if is_list else [value_node])
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError("mapping keys must be plain text", key_node.start_mark.line + 1)
            key = str(key_node.value)
            if key in own:
                raise SourceError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
            own[key] = (key_node, value_node)
        inherited: dict[str, _Entry] = {}
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise SourceError(
                    "'<<' merges a mapping or a list of mappings", source.start_mark.line + 1
                )
            for key, entry in self.entries(source).items():
                inherited.setdefault(key, entry)
        result = {**inherited, **own}
        self.merging.discard(id(node))
        self.merged[id(node)] = result
        return result


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
        loader = _Loader(text)
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
        if exc.context and problem.startswith("but "):  # "but found another document"
            problem = f"{exc.context} {problem}"
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


def _reject_constant(name: str) -> Any:
    raise SourceError(f"invalid JSON: {name} is not a JSON number")


def parse_json(text: str) -> Document:
    try:
        data = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise SourceError(f"invalid JSON: {exc.msg}", exc.lineno) from None
    except ValueError:  # an integer of more than 4300 digits (sys.int_info)
        raise SourceError("invalid JSON: a number has too many digits") from None
    except RecursionError:
        raise SourceError(f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(data) > MAX_DEPTH:
        raise SourceError(f"nested deeper than {MAX_DEPTH} levels")
    return Document(data)


def _depth(value: Any) -> int:
    """How many collections are nested at the deepest point, as YAML's check counts them.

    Iterative, so a document that json accepted cannot overflow the stack here."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend(
                (v, level + 1) for v in (item.values() if isinstance(item, dict) else item)
            )
    return deepest


_KINDS = {list: "a list", str: "text", type(None): "nothing (null)"}


def parse_text(text: str, *, is_json: bool) -> Document:
    if len(text) > MAX_BYTES:
        raise SourceError(f"file is larger than {MAX_BYTES // 1024} KiB")
    document = parse_json(text) if is_json else parse_yaml(text)
    if not isinstance(document.data, dict):
        kind = _KINDS.get(type(document.data), "a single value")
        raise SourceError(
            f"a flow must be a mapping (name, description, graph), not {kind}",
            document.lines.get("", 1),
        )
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
