"""A small router: `/api/flows/{id}` style templates, 404 for no path, 405 with Allow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controller.api.errors import ApiError, Response

Handler = Callable[..., Response]


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    parts: tuple[str, ...]
    handler: Handler

    @property
    def params(self) -> int:
        return sum(part.startswith("{") for part in self.parts)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.parts):
            return None
        found: dict[str, str] = {}
        for template, part in zip(self.parts, parts, strict=True):
            if template.startswith("{"):
                if not part:
                    return None
                found[template[1:-1]] = part
            elif template != part:
                return None
        return found


class Router:
    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        self._routes.append(_Route(method, tuple(template.split("/")), handler))

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, Any]]:
        """The handler and path parameters; a literal segment wins over a parameter, so
        `/api/flows/validate` is never read as the flow `validate`."""
        parts = path.split("/")
        matches = [
            (route, params) for route in self._routes if (params := route.match(parts)) is not None
        ]
        if not matches:
            raise ApiError(404, f"no such path: {path}")
        fewest = min(route.params for route, _ in matches)
        best = [(route, params) for route, params in matches if route.params == fewest]
        for route, params in best:
            if route.method == method:
                return route.handler, params
        allowed = ", ".join(sorted({route.method for route, _ in best}))
        raise ApiError(
            405,
            f"{method} is not allowed on {path}; allowed: {allowed}",
            headers=[("Allow", allowed)],
            allowed=allowed.split(", "),
        )
