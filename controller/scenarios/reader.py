"""Problems in a scenario file, each located as `file:line: where: message`.

Lines come from the hardened YAML reader's JSON pointers (`controller.flows.source`), so a
message points at the very field that is wrong; they are listed in the file's line order.
"""

from __future__ import annotations

import difflib
from typing import Any

from controller.flows.model import Flow
from controller.flows.source import Document


def suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Reader:
    """Collects a file's problems; `where` names the scenario and field."""

    def __init__(self, display: str, document: Document) -> None:
        self.display = display
        self.document = document
        self._errors: list[tuple[int, str]] = []

    @property
    def errors(self) -> list[str]:
        """In the order of the file's lines."""
        return [message for _, message in sorted(self._errors, key=lambda item: item[0])]

    @property
    def count(self) -> int:
        return len(self._errors)

    def line(self, pointer: str) -> int:
        return self.document.line_of(pointer) or 1

    def error(self, pointer: str, where: str, message: str) -> None:
        line = self.line(pointer)
        text = f"{where}: {message}" if where else message
        self._errors.append((line, f"{self.display}:{line}: {text}"))

    def unknown_keys(
        self, data: dict[str, Any], allowed: tuple[str, ...], *, pointer: str, where: str
    ) -> None:
        for key in data:
            if key not in allowed:
                self.error(
                    f"{pointer}/{key}",
                    where,
                    f"unknown field {key!r}{suggest(key, list(allowed))}; "
                    f"allowed: {', '.join(allowed)}",
                )

    def unknown_node(self, pointer: str, where: str, value: Any, flow: Flow | None) -> None:
        ids = list(flow.nodes) if flow else []
        hint = suggest(value, ids) if isinstance(value, str) else ""
        flow_name = flow.id if flow else "the flow"
        self.error(pointer, where, f"no node {value!r} in flow {flow_name}{hint}")
