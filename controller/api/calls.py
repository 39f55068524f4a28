"""/api/calls: place an ad-hoc call, and read a call's record.

Records come from the server's `on_record` hook into a bounded map of recent calls (no
scanning of the records file); a call placed here is "in progress" until its record is
written. The uuid given back is the call's own: the origination uuid of the flow's first
dial, so FreeSWITCH's channel, the record's `callId` and `dial.uuid` all carry it (a flow
that dials again after its first dial failed answers on the new dial's uuid).
"""

from __future__ import annotations

import uuid as uuidlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gevent.event import AsyncResult

from controller.api.errors import ApiError, Response
from controller.api.request import Request
from controller.api.router import Router
from controller.dialer import DialRequest, check_request, encode_state
from controller.exceptions import NodeError
from controller.flowstore import FlowStore
from controller.outbound import OutboundCalls, UnknownFlow
from controller.records import CallRecord, snapshot, utc_now

if TYPE_CHECKING:
    from controller.esl.inbound import EventSocketClient

RECENT_CALLS = 10_000  # records kept for GET /api/calls/{uuid}; the file keeps them all
CALL_FIELDS = frozenset({"flow", "to", "contact"})
MAX_NUMBER_TEXT = 64
# check_request() checks a whole originate; only the number is ours to check here.
_NUMBER_CHECK_DIAL_STRING = "api-number-check"


@dataclass(slots=True)
class _Placed:
    result: AsyncResult  # resolves with the record (None: another process writes it)
    flow_id: str
    placed_at: str


class RecentCalls:
    """The last RECENT_CALLS records by call id, and the calls placed through the API."""

    def __init__(self, limit: int = RECENT_CALLS) -> None:
        self.limit = limit
        self._records: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._placed: OrderedDict[str, _Placed] = OrderedDict()

    def hook(self, then: Callable[[CallRecord], None] | None) -> Callable[[CallRecord], None]:
        """An `on_record` hook that keeps each record here, then calls `then` (if any)."""

        def on_record(record: CallRecord) -> None:
            self.add(record)
            if then is not None:
                then(record)

        return on_record

    def add(self, record: CallRecord) -> None:
        # A snapshot, as written to the records file (bounded, UTF-8): later changes cannot
        # leak in.
        data = snapshot(record)
        self._keep(self._records, record.callId, data)

    def placed(self, call_id: str, result: AsyncResult, flow_id: str) -> None:
        self._keep(self._placed, call_id, _Placed(result, flow_id, utc_now()))

    def _keep(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.limit:
            table.popitem(last=False)

    def lookup(self, call_id: str) -> dict[str, Any] | None:
        placed = self._placed.get(call_id)
        if placed is not None:
            answer: dict[str, Any] = {
                "uuid": call_id,
                "flowId": placed.flow_id,
                "placedAt": placed.placed_at,
            }
            if not placed.result.ready():
                return {**answer, "status": "in_progress"}
            record = placed.result.get()
            if record is None:
                return {**answer, "status": "handed_off"}
            data = self._records.get(record.callId) or snapshot(record)
            return {**answer, "status": "finished", "record": data}
        data = self._records.get(call_id)
        if data is None:
            return None
        return {"uuid": call_id, "flowId": data.get("flowId"), "status": "finished", "record": data}


class CallsApi:
    def __init__(
        self,
        calls: RecentCalls,
        flows: FlowStore,
        outbound: OutboundCalls | None,
        esl: EventSocketClient | None,
    ) -> None:
        self.calls = calls
        self.flows = flows
        self.outbound = outbound
        self.esl = esl

    def register(self, router: Router) -> None:
        router.add("POST", "/api/calls", self.place)
        router.add("GET", "/api/calls/{uuid}", self.read)

    def read(self, request: Request, call_id: str) -> Response:
        found = self.calls.lookup(call_id)
        if found is None:
            raise ApiError(404, f"no call {call_id[:80]!r} known here", uuid=call_id[:80])
        return Response(200, found)

    def place(self, request: Request) -> Response:
        """202 with the call's uuid: the call runs on, its record comes later."""
        flow_id, to, contact = _call_request(request.json())
        flow = self.flows.get(flow_id)
        if flow is None:
            raise ApiError(422, f"no valid flow named {flow_id[:80]!r}", field="flow")
        if not any(node.type == "dial" for node in flow.nodes.values()):
            raise ApiError(422, f"flow {flow_id!r} has no dial node: it places no call")
        if self.outbound is None or self.esl is None:
            raise ApiError(503, "calls cannot be placed: no event socket is configured (esl)")
        if not self.esl.connected:
            raise ApiError(503, "not connected to FreeSWITCH's event socket; try again later")
        call_id = str(uuidlib.uuid4())
        try:
            result = self.outbound.place(flow_id, contact=contact, to=to, call_id=call_id)
        except UnknownFlow as exc:  # became invalid since the check above
            raise ApiError(422, str(exc), field="flow") from None
        self.calls.placed(call_id, result, flow_id)
        body = {"uuid": call_id, "status": "in_progress", "flowId": flow_id}
        return Response(202, body, [("Location", f"/api/calls/{call_id}")])


def _call_request(body: Any) -> tuple[str, str, dict[str, Any]]:
    """`{flow, to, contact?}`, checked: these are untrusted and end up in an originate."""
    if not isinstance(body, dict):
        raise ApiError(422, "the body must be a JSON object: {flow, to, contact}")
    unknown = sorted(set(body) - CALL_FIELDS)
    if unknown:
        raise ApiError(422, f"unknown field(s): {', '.join(unknown)[:200]}", fields=unknown[:20])
    flow_id, to, contact = body.get("flow"), body.get("to"), body.get("contact", {})
    if not isinstance(flow_id, str) or not flow_id:
        raise ApiError(422, "flow (the flow's id) is required", field="flow")
    if not isinstance(to, str) or not to:
        raise ApiError(422, "to (the number to call) is required", field="to")
    if not isinstance(contact, dict):
        raise ApiError(422, "contact must be an object of contact fields", field="contact")
    if len(to) > MAX_NUMBER_TEXT:
        raise ApiError(422, f"to is longer than {MAX_NUMBER_TEXT} characters", field="to")
    # The dialer's own checks, here rather than when the dial node runs, so a bad request is
    # told at once: the number, and the size of what travels with the call.
    try:
        check_request(
            DialRequest(destination=to, dial_string=_NUMBER_CHECK_DIAL_STRING, timeout_ms=1000)
        )
    except NodeError as exc:
        raise ApiError(422, str(exc), field="to") from None
    try:
        encode_state({"contact": contact})
    except NodeError as exc:
        raise ApiError(422, str(exc), field="contact") from None
    return flow_id, to, contact
