"""Problems found in a flow: what validation reports, in one shape for the CLI and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a flow, located precisely enough for a user to fix it.

    `pointer` is a JSON pointer (RFC 6901) into the flow document, "" for the whole document;
    `node` is the id of the node the pointer falls in, when it falls in one; `code` is a stable
    machine-readable rule name (tests and `--format json` users match on it, never on `message`).
    """

    severity: Severity
    code: str
    message: str
    file: str = ""
    node: str | None = None
    pointer: str = ""
    line: int | None = None

    def as_text(self) -> str:
        where = [self.file or "<flow>"]
        if self.line is not None and not self.pointer:
            where[0] += f":{self.line}"
        if self.node is not None:  # one line, whatever the id holds
            where.append(self.node if self.node.isprintable() else repr(self.node))
        if self.pointer:
            where.append(self.pointer)
        prefix = "" if self.severity is Severity.ERROR else "warning: "
        return f"{': '.join(where)}: {prefix}{self.message}"

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


def error(code: str, message: str, *, pointer: str = "", node: str | None = None) -> Problem:
    return Problem(Severity.ERROR, code, message, pointer=pointer, node=node)


def warning(code: str, message: str, *, pointer: str = "", node: str | None = None) -> Problem:
    return Problem(Severity.WARNING, code, message, pointer=pointer, node=node)


def pointer_of(*parts: str | int) -> str:
    """Build a JSON pointer, escaping '~' and '/' inside keys as RFC 6901 requires."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# Every problem code, with what it means: the README's validation table is generated from
# this, and a test fails when validation reports a code that is not listed here.
RULES: dict[str, str] = {
    "unreadable": "Not a YAML/JSON mapping, a duplicate key, or too large or deeply nested.",
    "invalid-flow-id": "The file name is not a flow id (a-z, 0-9, `-`, `_`; at most 64).",
    "id-mismatch": "`id` is set and differs from the file name.",
    "duplicate-flow-id": "Two files share a stem (`x.yaml`, `x.json`), so one flow id.",
    "missing-field": "A required field (required configuration included) is missing.",
    "unknown-field": "A field the schema does not define; a close match is suggested.",
    "wrong-type": "A value of the wrong type (text where a number belongs, ...).",
    "invalid-value": "Not one of the choices, not matching the pattern, or a wrong length.",
    "out-of-range": "A number below its minimum or above its maximum.",
    "schema": "Any other schema violation.",
    "duplicate-node-id": "Two nodes share an id.",
    "unknown-node-type": "`type` is not a node type; a close match is suggested.",
    "unknown-output": "An output the node type does not have.",
    "terminal-has-outputs": "A terminal node (hangup) has outputs.",
    "unknown-target": "An output points to a node id that does not exist.",
    "missing-start-node": "`graph.startNodeId` is not the id of any node.",
    "unreachable-node": "No path from the start node leads to the node.",
    "endless-loop": "Reachable nodes from which the call can never end (see routing above).",
    "invalid-template": "A malformed `{{ }}` placeholder in a config string.",
    "invalid-config": "Fields that contradict: `minDigits` > `maxDigits`, operator vs value.",
    "invalid-pattern": "A regular expression that does not compile (conditions: in RE2), or "
    "names a FreeSWITCH variable (`${`).",
    "reserved-variable": "A channel variable FreeSWITCH gives a meaning to, exported by "
    "set_variable or set by a dial (docs/security.md).",
    "invalid-branch-key": "A dtmf branch key that is not a phone key (`0`-`9`, `*`, `#`).",
    "branch-not-allowed": "A dtmf branch never taken: not allowed, or not a valid entry.",
    "unhandled-dial-outcome": "Dial outcomes unwired, no `default` (onVoicemail: with AMD only).",
    "unset-variable": "A variable is read but no node sets it (it will be empty).",
    "unknown-system-variable": "A `sys.*` name that is not a system variable.",
    "missing-audio": "An `audioId` with no file under the audio root.",
    "needs-call": "A node acting on the call reached only with none (before the dial, or "
    "after a failed one).",
    "may-need-call": "A node acting on the call also reached after a failed dial.",
    "bad-dictionary": "A language's `manifest.yaml` that cannot be used.",
    "unknown-word": "A literal `word` item whose key is not in the dictionary.",
    "no-speech-rules": "Numbers and dates in a language callflow has no rules for.",
    "unspeakable-value": "A literal number or date that cannot be spoken.",
    "missing-clip": "Dictionary tokens a number, date or word may need, with no clip.",
}
