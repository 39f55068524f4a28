"""/api/programs and /api/dnc: programs (outbound campaigns) over HTTP.

What `callflow program ...` does, on the same store (the controller's `program_db`, shared
with its program manager) and through the same `lifecycle` functions, so each step is
idempotent here too and a controller dials what is started here within a second — this
process, or another sharing a PostgreSQL database.

- create (`{id, spec}`: 201, or 200 when it exists with that spec, 409 with another);
- list, and one program with its progress (counts, rate, time to finish);
- contacts imported from the body (CSV, or JSON: a list or `{contacts: [...]}`), every
  invalid row reported with its line (JSON: position) and reason, duplicates merged;
- start, pause, resume (`{useCurrentFlow: true}` moves to the flow's current version), cancel;
- results as JSON or CSV (spreadsheet-safe: see `programs.export`);
- do-not-call numbers added or removed, on the global list or a program's.

Statuses: 404 unknown program, 409 a step the program's state does not allow (or a flow with
no valid version), 422 a bad specification, contacts file or number list, 503 no program
database configured or reachable. Bodies are limited by `api_max_body` like every /api body.
"""

from __future__ import annotations

import functools
import io
import json
import time
from collections.abc import Callable
from typing import Any

from controller.api.errors import ApiError, Response
from controller.api.request import Request
from controller.api.router import Router
from controller.flowstore import FlowStore
from controller.offload import off_loop
from controller.programs import export, lifecycle, progress
from controller.programs.database import ProgramDatabase
from controller.programs.importer import ContactFileError, normalise_number, parse_contacts
from controller.programs.model import SpecError, check_program_id, parse_spec
from controller.programs.store import (
    GLOBAL_DNC,
    ProgramRow,
    ProgramStore,
    StoreError,
    StoreUnavailable,
)

CREATE_FIELDS = frozenset({"id", "spec"})
DNC_FIELDS = frozenset({"numbers", "program", "country"})
MAX_DNC_NUMBERS = 10_000
SHOWN_ID = 80  # characters of an unknown id echoed back


def _time(epoch: float | None) -> str | None:
    return export.iso_time(epoch)


def program_body(row: ProgramRow, store: ProgramStore, now: float) -> dict[str, Any]:
    """The program, its specification and its progress."""
    body: dict[str, Any] = {
        "id": row.id,
        "name": row.spec.name,
        "flow": row.spec.flow,
        "flowVersion": row.flow_version,
        "state": row.state,
        "reason": row.reason,
        "createdAt": _time(row.created_at),
        "updatedAt": _time(row.updated_at),
        "startedAt": _time(row.started_at),
        "finishedAt": _time(row.finished_at),
        "spec": row.spec.as_dict(),
    }
    body["progress"] = progress.as_dict(store.stats(row.id, now=now))
    return body


class ProgramsApi:
    def __init__(
        self,
        database: ProgramDatabase | None,
        flows: FlowStore,
        *,
        sps_limit: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.flows = flows
        self.sps_limit = sps_limit
        self.clock = clock

    def register(self, router: Router) -> None:
        routes = [
            ("GET", "/api/programs", self.list),
            ("POST", "/api/programs", self.create),
            ("GET", "/api/programs/{id}", self.read),
            ("POST", "/api/programs/{id}/contacts", self.import_contacts),
            ("POST", "/api/programs/{id}/start", self.start),
            ("POST", "/api/programs/{id}/pause", self.pause),
            ("POST", "/api/programs/{id}/resume", self.resume),
            ("POST", "/api/programs/{id}/cancel", self.cancel),
            ("GET", "/api/programs/{id}/results", self.results),
            ("POST", "/api/dnc", self.dnc_add),
            ("POST", "/api/dnc/remove", self.dnc_remove),
        ]
        for method, path, handler in routes:
            router.add(method, path, _unavailable_is_503(handler))

    # -- the store --------------------------------------------------------------------------
    def _store(self, *, create: bool = False) -> ProgramStore | None:
        if self.database is None:
            raise ApiError(503, "programs are off here: no program database (setting programs_db)")
        try:
            return self.database.get(create=create)
        except StoreUnavailable as exc:
            raise ApiError(503, str(exc)) from None

    def _program(self, program_id: str) -> tuple[ProgramStore, ProgramRow]:
        store = self._store()
        row = store.get_program(program_id) if store is not None else None
        if store is None or row is None:
            shown = program_id[:SHOWN_ID]
            raise ApiError(404, f"no program {shown!r}", id=shown)
        return store, row

    def _current_version(self, flow_id: str) -> str | None:
        flow = self.flows.get(flow_id)
        return flow.version if flow is not None else None

    # -- reading ----------------------------------------------------------------------------
    def list(self, request: Request) -> Response:
        store = self._store()
        if store is None:
            return Response(200, {"programs": []})
        now = self.clock()
        return Response(
            200, {"programs": [program_body(row, store, now) for row in store.list_programs()]}
        )

    def read(self, request: Request, program_id: str) -> Response:
        store, row = self._program(program_id)
        return Response(200, program_body(row, store, self.clock()))

    def results(self, request: Request, program_id: str) -> Response:
        kind = request.query("format") or "json"
        if kind not in ("json", "csv"):
            raise ApiError(400, f"format must be json or csv, not {kind[:20]!r}", field="format")
        store, row = self._program(program_id)
        entries = export.results(store, row.id)
        if kind == "json":
            return Response(200, {"program": row.id, "results": entries})
        text = off_loop(_csv_text, entries)  # ~10 µs a cell: seconds for a big program
        disposition = f'attachment; filename="{row.id}-results.csv"'  # ids are [A-Za-z0-9_.-]
        return Response(
            200,
            raw=text.encode("utf-8"),
            content_type="text/csv; charset=utf-8",
            headers=[("Content-Disposition", disposition)],
        )

    # -- creating and importing -------------------------------------------------------------
    def create(self, request: Request) -> Response:
        body = _object(request.json(), CREATE_FIELDS, "{id, spec}")
        program_id = body.get("id")
        if not isinstance(program_id, str):
            raise ApiError(422, "id (the program's id) is required", field="id")
        try:
            check_program_id(program_id)
            spec = parse_spec(body.get("spec"), sps_limit=self.sps_limit)
        except SpecError as exc:
            field = "id" if "program id" in str(exc) else "spec"
            raise ApiError(422, str(exc), field=field) from None
        store = self._store(create=True)
        assert store is not None  # created on demand
        existed = store.get_program(program_id) is not None
        try:
            row = lifecycle.create(store, program_id, spec, now=self.clock())
        except StoreError as exc:
            raise _conflict(exc) from None
        headers = [("Location", f"/api/programs/{row.id}")]
        return Response(200 if existed else 201, program_body(row, store, self.clock()), headers)

    def import_contacts(self, request: Request, program_id: str) -> Response:
        store, row = self._program(program_id)
        text, as_json = _contacts_text(request)
        try:
            # ~60 µs a row (phone numbers parsed): 2 s for a 1 MiB file, off the loop.
            report = off_loop(
                parse_contacts,
                text,
                source="body",
                country=row.spec.default_country,
                as_json=as_json,
            )
            added = lifecycle.import_contacts(store, row.id, report, now=self.clock())
        except ContactFileError as exc:
            raise ApiError(422, str(exc)) from None
        except StoreError as exc:
            raise _conflict(exc) from None
        return Response(
            200,
            {
                "rows": report.rows,
                "added": added.inserted,
                "updated": added.updated,
                "merged": [{"line": line, "into": into} for line, into in report.merged],
                "invalid": [{"line": e.line, "reason": e.reason} for e in report.errors],
            },
        )

    # -- lifecycle --------------------------------------------------------------------------
    def _step(self, program_id: str, step: Callable[[ProgramStore], ProgramRow]) -> Response:
        store, _row = self._program(program_id)
        try:
            row = step(store)
        except StoreError as exc:
            raise _conflict(exc) from None
        return Response(200, program_body(row, store, self.clock()))

    def start(self, request: Request, program_id: str) -> Response:
        return self._step(
            program_id,
            lambda store: lifecycle.start(
                store, program_id, self._current_version, now=self.clock()
            ),
        )

    def pause(self, request: Request, program_id: str) -> Response:
        return self._step(
            program_id, lambda store: lifecycle.pause(store, program_id, now=self.clock())
        )

    def resume(self, request: Request, program_id: str) -> Response:
        options: dict[str, Any] = {}
        if request.body().strip():  # the body is optional
            options = _object(request.json(), frozenset({"useCurrentFlow"}), "{useCurrentFlow}")
        use_current = options.get("useCurrentFlow", False)
        if not isinstance(use_current, bool):
            raise ApiError(422, "useCurrentFlow must be true or false", field="useCurrentFlow")
        return self._step(
            program_id,
            lambda store: lifecycle.resume(
                store,
                program_id,
                self._current_version,
                now=self.clock(),
                use_current_flow=use_current,
            ),
        )

    def cancel(self, request: Request, program_id: str) -> Response:
        return self._step(
            program_id, lambda store: lifecycle.cancel(store, program_id, now=self.clock())
        )

    # -- do-not-call ------------------------------------------------------------------------
    def dnc_add(self, request: Request) -> Response:
        return self._dnc(request, add=True)

    def dnc_remove(self, request: Request) -> Response:
        return self._dnc(request, add=False)

    def _dnc(self, request: Request, *, add: bool) -> Response:
        body = _object(request.json(), DNC_FIELDS, "{numbers, program?, country?}")
        numbers, program_id, country = body.get("numbers"), body.get("program"), body.get("country")
        if (
            not isinstance(numbers, list)
            or not 1 <= len(numbers) <= MAX_DNC_NUMBERS
            or not all(isinstance(number, str) for number in numbers)
        ):
            raise ApiError(
                422,
                f"numbers must be a list of 1 to {MAX_DNC_NUMBERS} phone numbers (text)",
                field="numbers",
            )
        if "program" in body and not isinstance(program_id, str):
            raise ApiError(422, "program must be a program id", field="program")
        if "country" in body and not isinstance(country, str):
            raise ApiError(422, "country must be a two-letter region code", field="country")
        if program_id is not None:
            store, row = self._program(program_id)
            country = country or row.spec.default_country
        else:
            store = self._store(create=True)
            assert store is not None
        # ~60 µs a number: 0.6 s for the most a request may send, off the loop.
        phones, invalid = off_loop(_normalised, numbers, (country or "US").upper())
        scope = program_id or GLOBAL_DNC
        if add:
            changed = store.add_dnc(phones, scope=scope, now=self.clock())
        else:
            changed = store.remove_dnc(phones, scope=scope)
        return Response(
            200,
            {
                "list": program_id or "global",
                "added" if add else "removed": changed,
                "numbers": phones,
                "invalid": invalid,
            },
        )


def _csv_text(entries: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    export.write_csv(entries, out)
    return out.getvalue()


def _normalised(numbers: list[str], country: str) -> tuple[list[str], list[dict[str, str]]]:
    """E.164 numbers, and those that are not numbers with why."""
    phones, invalid = [], []
    for number in numbers:
        try:
            phones.append(normalise_number(number, country))
        except ValueError as exc:
            invalid.append({"number": str(number)[:64], "reason": str(exc)})
    return phones, invalid


def _unavailable_is_503(handler: Callable[..., Response]) -> Callable[..., Response]:
    """The database going away mid-request (any store call: a read, the progress counts, an
    export) is 503, as documented, never a 500."""

    @functools.wraps(handler)
    def guarded(*args: Any, **kwargs: Any) -> Response:
        try:
            return handler(*args, **kwargs)
        except StoreUnavailable as exc:
            raise ApiError(503, str(exc)) from None

    return guarded


def _object(body: Any, allowed: frozenset[str], shape: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(422, f"the body must be a JSON object: {shape}")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(422, f"unknown field(s): {', '.join(unknown)[:200]}", fields=unknown[:20])
    return body


def _contacts_text(request: Request) -> tuple[str, bool]:
    """The body as text, and whether it is JSON (by Content-Type, else by its first
    character). JSON goes through the API's own parser first: duplicate keys, depth and
    non-finite numbers are refused as for any body."""
    # WSGI gives Content-Type as CONTENT_TYPE, not as an HTTP_ header.
    kind = str(request.environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    raw = request.body()
    if not raw.strip():
        raise ApiError(400, "the request has no body; send contacts as CSV or JSON")
    if kind == "application/json" or (kind != "text/csv" and raw.lstrip()[:1] in (b"[", b"{")):
        return json.dumps(request.json(), ensure_ascii=False), True
    try:
        return raw.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None


def _conflict(exc: StoreError) -> ApiError:
    if isinstance(exc, StoreUnavailable):
        return ApiError(503, str(exc))
    return ApiError(409, str(exc))
