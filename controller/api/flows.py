"""/api/flows: list, read, create, replace, delete and validate flows.

Writes are validated first, with the loader the CLI and the flow store use, on the very text
that will be written; only a valid flow reaches the disk, atomically, and the store re-reads
it at once (calls already running keep the version they started on).

Each flow's entry is the store's `FlowStatus`: the version serving and since when, and an edit
on disk that was rejected (hot reload) with its problems. A list looks for files added to or
gone from the directory first (the store does, at most once a second).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from gevent.lock import Semaphore

from controller import offload
from controller.api import flowfiles
from controller.api.errors import ApiError, Response, encode_json
from controller.api.request import Request
from controller.api.router import Router
from controller.flows.loader import (
    LoadResult,
    load_flow_data,
    load_flow_text,
    summary,
    version_of,
)
from controller.flows.model import Flow
from controller.flows.source import SourceError, read_document
from controller.flowstore import FlowStatus, FlowStore
from controller.offload import off_loop

log = logging.getLogger("callflow.api")

# /api/flows/validate may be sent only a graph, as in the guide; the name is then this.
PLACEHOLDER_NAME = "unnamed"
PLACEHOLDER_ID = "flow"


class FlowsApi:
    def __init__(self, store: FlowStore) -> None:
        self.store = store
        self._writing = Semaphore()

    def register(self, router: Router) -> None:
        router.add("GET", "/api/flows", self.list)
        router.add("POST", "/api/flows", _collector_paused(self.create))
        router.add("POST", "/api/flows/validate", _collector_paused(self.validate))
        router.add("GET", "/api/flows/{id}", _collector_paused(self.read))
        router.add("PUT", "/api/flows/{id}", _collector_paused(self.replace))
        router.add("DELETE", "/api/flows/{id}", self.delete)

    # -- reading ----------------------------------------------------------------------------

    def list(self, request: Request) -> Response:
        self.store.refresh()
        flows = []
        for flow_id in self.store.flow_ids:
            status = self.store.status(flow_id)
            if status is not None:
                flows.append(_summary(flow_id, status))
        return Response(200, {"flows": flows})

    def read(self, request: Request, flow_id: str) -> Response:
        flowfiles.check_id(flow_id)
        status = self._status(flow_id)
        return Response(200, _detail(flow_id, status))

    def _status(self, flow_id: str) -> FlowStatus:
        status = self.store.status(flow_id)
        if status is None:
            raise ApiError(404, f"no flow {flow_id!r}", id=flow_id)
        return status

    # -- validating -------------------------------------------------------------------------

    def validate(self, request: Request) -> Response:
        """The `callflow validate --format json` report for the posted flow; 200 whether or
        not it is valid (the report says). A missing name is not reported: the guide posts
        only a graph here. The flow id is the body's `id`, else a slug of the name."""
        data = request.json()
        flow_id = PLACEHOLDER_ID
        if isinstance(data, dict):
            flow_id = _id_from(data) or PLACEHOLDER_ID
            if "name" not in data:
                data = {**data, "name": PLACEHOLDER_NAME}
        report = off_loop(_validation_report, data, flow_id, self.store.audio_root)
        return Response(200, report)

    # -- writing ----------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        data = _flow_body(request)
        declared = data.get("id")
        if declared is not None:
            if not isinstance(declared, str):
                raise ApiError(422, "id must be text", field="id")
            flow_id = flowfiles.check_id(declared, status=422)
        else:
            flow_id = _id_from(data) or ""
            if not flow_id:
                raise ApiError(
                    422,
                    f"give the flow an id, or a name to derive one from ({flowfiles.ID_RULE})",
                    field="id",
                )
            flowfiles.check_id(flow_id, status=409)
        existing = flowfiles.files_for(self.store.directory, flow_id)
        if self.store.status(flow_id) is not None or existing:
            raise ApiError(409, f"flow {flow_id!r} already exists; PUT replaces it", id=flow_id)
        path = self.store.directory / f"{flow_id}.yaml"
        status = self._write(flow_id, path, data)
        log.info("flow %s created through the API (version %s)", flow_id, _version(status))
        location = [("Location", f"/api/flows/{flow_id}")]
        return Response(201, _detail(flow_id, status), location)

    def replace(self, request: Request, flow_id: str) -> Response:
        flowfiles.check_id(flow_id)
        status = self.store.status(flow_id)
        existing = flowfiles.files_for(self.store.directory, flow_id)
        if status is None and not existing:
            raise ApiError(404, f"no flow {flow_id!r}; POST /api/flows creates it", id=flow_id)
        data = _flow_body(request)
        path = status.path if status is not None else existing[0]
        status = self._write(flow_id, path, data)
        log.info("flow %s replaced through the API (version %s)", flow_id, _version(status))
        return Response(200, _detail(flow_id, status))

    def delete(self, request: Request, flow_id: str) -> Response:
        flowfiles.check_id(flow_id)
        status = self._status(flow_id)
        with self._writing:
            if status.path.exists():
                off_loop(flowfiles.delete, status.path)  # fsyncs the directory
            self.store.remove(flow_id)
        log.info("flow %s deleted through the API", flow_id)
        return Response(204)

    def _write(self, flow_id: str, path: Path, data: dict[str, Any]) -> FlowStatus:
        directory = self.store.directory
        if not directory.is_dir():
            raise ApiError(503, "the flows directory does not exist", directory=str(directory))
        text, result, report = off_loop(
            _render_and_load, data, path, flow_id, self.store.audio_root
        )
        if report is not None:
            raise ApiError(
                422,
                f"flow {flow_id!r} is invalid ({len(result.errors)} error(s)); nothing was written",
                validation=report,
            )
        # One write (and its load) at a time, so the file and the version served agree.
        with self._writing:
            off_loop(flowfiles.write_atomic, path, text)  # fsync: 100s of ms on a busy disk
            # Serve it now, not at the next mtime check; the load above is of this very text.
            self.store.load_file(path, result=result)
        status = self.store.status(flow_id)
        assert status is not None
        return status


def _validation_report(data: Any, flow_id: str, audio_root: Path | None) -> dict[str, Any]:
    """On a worker thread (off_loop): seconds of pure Python for a flow of hundreds of KB."""
    return summary([load_flow_data(data, flow_id=flow_id, audio_root=audio_root)])


def _render_and_load(
    data: dict[str, Any], path: Path, flow_id: str, audio_root: Path | None
) -> tuple[str, LoadResult, dict[str, Any] | None]:
    """The file text for `data`, its load, and the validation report when it is invalid.
    On a worker thread (off_loop): touches nothing but its arguments."""
    text = flowfiles.render(data, path)
    result = load_flow_text(
        text,
        flow_id=flow_id,
        is_json=path.suffix == ".json",
        source=str(path),
        audio_root=audio_root,
    )
    report = None if result.valid else summary([_without_lines(result)])
    return text, result, report


def _collector_paused(handler: Callable[..., Response]) -> Callable[..., Response]:
    """The handler, the encoding of its answer included (off the loop: a flow document is
    ~20 ms of JSON), with the cyclic collector paused (controller.offload): the parsed body
    and the document are freed when it runs again."""

    @functools.wraps(handler)
    def paused(*args: Any, **kwargs: Any) -> Response:
        with offload.collector_paused():
            response = handler(*args, **kwargs)
            if response.body is None or response.raw is not None:
                return response
            encoded = off_loop(encode_json, response.body)
            return dataclasses.replace(response, body=None, raw=encoded)

    return paused


def _flow_body(request: Request) -> dict[str, Any]:
    data = request.json()
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a flow: a JSON object with name, graph, ...")
    return data


def _id_from(data: dict[str, Any]) -> str | None:
    """The body's id when it is one, else a slug of its name."""
    declared = data.get("id")
    if isinstance(declared, str) and flowfiles.FLOW_ID.fullmatch(declared):
        return declared
    name = data.get("name")
    if isinstance(name, str):
        return flowfiles.slug(name) or None
    return None


def _without_lines(result: LoadResult) -> LoadResult:
    """Lines in the YAML the API would have written mean nothing to a client that sent JSON."""
    problems = [replace(problem, line=None) for problem in result.problems]
    return LoadResult(result.source, result.flow_id, result.flow, problems)


def _version(status: FlowStatus) -> str | None:
    return status.serving.version if status.serving else None


def _summary(flow_id: str, status: FlowStatus) -> dict[str, Any]:
    """A flow in the list: what serves and since when, and what is wrong with the file if
    anything (an edit rejected by the hot reload keeps the previous version serving)."""
    serving, last = status.serving, status.last
    last_error = None
    if status.rejected_at is not None:
        last_error = {"at": _timestamp(status.rejected_at), "version": status.rejected_version}
    return {
        "id": flow_id,
        "name": serving.name if serving else None,
        "version": serving.version if serving else None,
        "serving": serving is not None,
        "servingSince": _timestamp(status.serving_since),
        "lastLoadSuccess": _timestamp(status.last_success),
        "valid": last.valid,
        "stale": status.stale,
        "lastError": last_error,
        "missing": status.missing,
        "file": str(status.path),
        "problems": [problem.as_dict() for problem in last.errors],
        "warnings": [problem.as_dict() for problem in last.warnings],
    }


def _timestamp(seconds: float | None) -> str | None:
    """ISO 8601 UTC to the millisecond, as in call records: 2026-11-27T13:40:05.123Z."""
    if seconds is None:
        return None
    whole = int(seconds)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{text}.{int((seconds - whole) * 1000):03d}Z"


def _detail(flow_id: str, status: FlowStatus) -> dict[str, Any]:
    """The flow document, plus its `status` (the list entry). The document is the version
    being served, as written in its file; when the file holds a rejected edit, the served
    version rebuilt from memory (defaults filled in); with no valid version, the file as it
    is (or no document at all when it cannot be read)."""
    document = off_loop(_document, status)  # parses the file: seconds for a big one
    return {**document, "id": flow_id, "status": _summary(flow_id, status)}


def _document(status: FlowStatus) -> dict[str, Any]:
    try:
        document, raw = read_document(status.path)
    except SourceError:
        document, raw = None, b""
    if status.serving is None or (document and version_of(raw) == status.serving.version):
        return document.data if document and isinstance(document.data, dict) else {}
    return _rebuilt(status.serving)


def _rebuilt(flow: Flow) -> dict[str, Any]:
    nodes = []
    for node in flow.nodes.values():
        outputs: dict[str, Any] = dict(node.outputs)
        if node.branches:
            outputs["branches"] = dict(node.branches)
        entry = {"id": node.id, "type": node.type, "config": node.config, "outputs": outputs}
        if node.label:
            entry["label"] = node.label
        nodes.append(entry)
    return {
        "name": flow.name,
        "description": flow.description,
        "settings": flow.settings,
        "graph": {"startNodeId": flow.start_node_id, "nodes": nodes},
    }
