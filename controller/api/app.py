"""The API as one WSGI application, mounted by `controller.http` under /api.

Every /api route needs a valid x-api-key except the OpenAPI document itself. Every answer is
JSON, errors included; an unexpected exception is logged and answered with a plain 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from controller.api.auth import HEADER, ApiKeys
from controller.api.calls import CallsApi, RecentCalls
from controller.api.errors import ApiError, Response
from controller.api.flows import FlowsApi
from controller.api.programs import ProgramsApi
from controller.api.request import Request
from controller.api.router import Router
from controller.config import Settings
from controller.flowstore import FlowStore
from controller.programs.database import ProgramDatabase
from controller.programs.pacing import program_rate_limit

if TYPE_CHECKING:
    from controller.esl.inbound import EventSocketClient
    from controller.outbound import OutboundCalls

log = logging.getLogger("callflow.api")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
OPENAPI_PATHS = {"/api/openapi.yaml": "yaml", "/api/openapi.json": "json"}


@cache
def openapi_text() -> str:
    return resources.files("controller.api").joinpath("openapi.yaml").read_text("utf-8")


@cache
def _openapi_json() -> bytes:
    return json.dumps(yaml.safe_load(openapi_text()), indent=2).encode()


class ApiApp:
    def __init__(
        self,
        settings: Settings,
        *,
        flows: FlowStore,
        calls: RecentCalls,
        outbound: OutboundCalls | None = None,
        esl: EventSocketClient | None = None,
        programs: ProgramDatabase | None = None,
    ) -> None:
        self.keys = ApiKeys(settings.api_keys)
        self.max_body = settings.api_max_body
        self.router = Router()
        FlowsApi(flows).register(self.router)
        CallsApi(calls, flows, outbound, esl).register(self.router)
        sps_limit = program_rate_limit(settings.freeswitch_sps)
        ProgramsApi(programs, flows, sps_limit=sps_limit).register(self.router)
        self._log_keys()

    def apply_settings(self, settings: Settings) -> None:
        """SIGHUP (`controller.reload`): the keys and the body limit for requests from now
        on; a request already past its key check finishes as it started."""
        self.keys = ApiKeys(settings.api_keys)
        self.max_body = settings.api_max_body
        self._log_keys()

    def _log_keys(self) -> None:
        if self.keys:
            log.info("flows and calls API under /api (%d key(s))", len(self.keys))
        else:
            log.warning("the /api routes answer 503: no API key is configured (api_keys)")

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        request = Request(environ, self.max_body)
        try:
            response = self._handle(request)
        except ApiError as exc:
            response = exc.response()
            if exc.status == 413:  # the rest of the body is discarded, not kept
                response.headers.append(("Connection", "close"))
        except Exception:
            log.exception("API %s %s failed", request.method, request.path)
            response = Response(500, {"error": "internal error; the controller's log has it"})
        headers, data = response.encode()
        start(response.status_line, headers)
        return [data]

    def _handle(self, request: Request) -> Response:
        kind = OPENAPI_PATHS.get(request.path)
        if kind is not None:  # the API's description is public: no key needed
            if request.method != "GET":
                raise ApiError(405, "only GET is allowed here", headers=[("Allow", "GET")])
            if kind == "yaml":
                return Response(200, raw=openapi_text().encode(), content_type="application/yaml")
            return Response(200, raw=_openapi_json())
        self.keys.check(request.header(HEADER))
        handler, params = self.router.resolve(request.method, request.path)
        return handler(request, *params.values())
