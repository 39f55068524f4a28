"""The contract every node type keeps, and the registry entry built from its module.

A node type is one module in this package. It holds, side by side:

- `OUTPUTS`: the output names it can return, exactly as the flow guide spells them;
- `CONFIG_SCHEMA`: a JSON Schema (draft 2020-12) fragment for its `config`, with a `default`
  and a `description` for every field — the published schema and the README's reference are
  assembled from these, and defaults are applied once, at load;
- optionally `check(node)`: problems JSON Schema cannot express (cross-field rules), yielded
  as `Problem`s; `TEMPLATE_FIELDS` (config fields whose text is a `{{ }}` template) or, when
  that is not precise enough, `templates(config)`; `reads(config)` / `writes(config)`: the
  variables it reads other than through templates, and those it sets, for the "read but never
  set" warning; `audio(config)`: the audio files it will play; `spoken(config)`: its number,
  date and word items, checked against the dictionaries;
- `NEEDS_CALL` (bool, or a function of the config): the node acts on the channel, so it
  cannot run before an outbound flow's dial or after a failed one;
- `run(call, config) -> str` (the runtime): performs the node on a call and *returns* the name
  of the output to take. There is no "continue" to forget: a node that returns is done.

The registry (`controller.nodes.NODE_TYPES`) maps a type name to a `NodeType` built from the
module, filling in harmless defaults for the optional parts, so adding a node type is that
module, its tests, and one registry line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from controller.flows.problems import Problem
from controller.templates import strings_in

ERROR_OUTPUT = "onError"
DEFAULT_OUTPUT = "default"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A node as validation sees it: config already has its defaults applied."""

    id: str
    type: str
    label: str
    config: dict[str, Any]
    outputs: dict[str, Any]
    pointer: str  # JSON pointer of the node in its document, e.g. /graph/nodes/3


@dataclass(frozen=True, slots=True)
class VariableRead:
    pointer: str  # relative to the node's config, e.g. /destination
    name: str


@dataclass(frozen=True, slots=True)
class AudioUse:
    pointer: str  # relative to the node's config
    audio_id: str
    language: str | None


def _nothing(_: Any) -> Iterator[Any]:
    return iter(())


@dataclass(frozen=True)
class NodeType:
    name: str
    summary: str
    outputs: tuple[str, ...]
    config_schema: dict[str, Any]
    has_branches: bool = False
    schema_defs: dict[str, Any] = field(default_factory=dict)
    check: Callable[[NodeSpec], Iterable[Problem]] = _nothing
    templates: Callable[[dict[str, Any]], Iterable[tuple[str, str]]] = _nothing
    reads: Callable[[dict[str, Any]], Iterable[VariableRead]] = _nothing
    writes: Callable[[dict[str, Any]], Iterable[str]] = _nothing
    audio: Callable[[dict[str, Any]], Iterable[AudioUse]] = _nothing
    spoken: Callable[[dict[str, Any]], Iterable[tuple[str, dict[str, Any]]]] = _nothing
    run: Callable[..., str] | None = field(default=None, repr=False)
    needs_call: Callable[[dict[str, Any]], bool] = lambda _config: False

    @property
    def terminal(self) -> bool:
        return not self.outputs and not self.has_branches

    @classmethod
    def from_module(cls, name: str, module: ModuleType) -> NodeType:
        doc = (module.__doc__ or name).strip().splitlines()[0]
        optional = {
            attr: getattr(module, attr)
            for attr in ("check", "templates", "reads", "writes", "audio", "spoken", "run")
            if hasattr(module, attr)
        }
        needs_call = getattr(module, "NEEDS_CALL", False)
        optional["needs_call"] = (
            needs_call if callable(needs_call) else (lambda _config, value=bool(needs_call): value)
        )
        fields = getattr(module, "TEMPLATE_FIELDS", ())
        if fields and "templates" not in optional:
            optional["templates"] = lambda config: template_strings(config, fields)
        return cls(
            name=name,
            summary=doc,
            outputs=tuple(module.OUTPUTS),
            config_schema=module.CONFIG_SCHEMA,
            has_branches=getattr(module, "HAS_BRANCHES", False),
            schema_defs=getattr(module, "SCHEMA_DEFS", {}),
            **optional,
        )


def template_strings(config: dict[str, Any], fields: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(pointer relative to config, text) for every string inside the named fields."""
    for name in fields:
        if name in config:
            yield from strings_in(config[name], "/" + name)
