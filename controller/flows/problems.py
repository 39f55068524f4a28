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
        if self.node is not None:
            where.append(self.node)
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
