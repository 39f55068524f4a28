"""Flow files written by the API: checked ids, YAML (or JSON) text, atomic replacement.

A flow's id is its file stem, so an id from a URL or a body is a file name: it must be a
strict slug (no dots, slashes or anything else a path could use) before it touches the disk.
A write goes to a temporary file in the same directory, is flushed to disk, then renamed over
the old file: a reader (the flow store, git, a controller starting) sees the old file or the
new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from controller.api.errors import ApiError
from controller.flows.loader import FLOW_SUFFIXES
from controller.flows.source import SourceError, parse_json, parse_yaml

# As the loader's FLOW_ID_PATTERN, matched whole (`$` would accept a trailing newline).
FLOW_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
RESERVED_IDS = frozenset({"validate"})  # /api/flows/validate is the validation endpoint
ID_RULE = "lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 64"
NEW_FILE_MODE = 0o644


def check_id(flow_id: str, *, status: int = 400) -> str:
    if not FLOW_ID.fullmatch(flow_id):
        raise ApiError(status, f"{flow_id[:80]!r} is not a flow id ({ID_RULE})", field="id")
    if flow_id in RESERVED_IDS:
        raise ApiError(status, f"{flow_id!r} is reserved and cannot be a flow id", field="id")
    return flow_id


def slug(name: str) -> str:
    """`Payment Reminder` -> `payment-reminder`; accents dropped; "" when nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].rstrip("-")


def files_for(directory: Path, flow_id: str) -> list[Path]:
    """Files in the flows directory that would claim `flow_id` (x.yaml, x.yml, x.json)."""
    return [p for p in (directory / f"{flow_id}{s}" for s in FLOW_SUFFIXES) if p.exists()]


def render(data: dict[str, Any], path: Path) -> str:
    """The flow in the file's format (JSON for a .json file, else YAML, keys in the order
    given), checked to read back as exactly `data` with the loader's own parser. YAML keeps
    text readable; where a character would not survive that (PyYAML writes U+0085 raw, and
    reads it back as a line break), the text is escaped instead."""
    if path.suffix == ".json":
        candidates = [json.dumps(data, indent=2, ensure_ascii=False) + "\n"]
        parse = parse_json
    else:
        candidates = [
            yaml.safe_dump(data, sort_keys=False, allow_unicode=readable, width=100)
            for readable in (True, False)
        ]
        parse = parse_yaml
    for text in candidates:
        try:
            if parse(text).data == data:
                return text
        except SourceError:
            continue
    raise ApiError(422, "the flow cannot be written to a file that reads back the same")


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text`: temp file beside it (hidden, so never taken for a flow),
    fsync, rename, fsync the directory. The old file stays intact if anything fails."""
    data = text.encode("utf-8")
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _sync_directory(path.parent)


def delete(path: Path) -> None:
    path.unlink()
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename (or unlink) itself durable, not only the file's bytes."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
