"""The API checked against its OpenAPI document by schemathesis: property-based requests to
the real server on a free port, over real HTTP, with a valid key, against a copy of the flows.

Deterministic (derandomized, no example database) and bounded so it stays fast in CI.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
import schemathesis
import yaml
from hypothesis import settings
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance
from support.api_client import KEY, REPO, ApiClient, client_for
from support.harness import build_dial_harness, close_dial_harness

from controller.api import openapi_text

SCHEMA = schemathesis.openapi.from_path(REPO / "controller" / "api" / "openapi.yaml")
MAX_EXAMPLES = 25
# Not checked: "schema-valid data is accepted". A flow's rules go beyond what a schema can say
# (every node reachable, outputs pointing at nodes, a flow id that exists for a call), so a
# schema-valid body is often, rightly, a 422; every 422 is documented and its body checked.
EXCLUDED_CHECKS = [positive_data_acceptance]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    """A controller with its event socket on the simulator, so calls are really placed; every
    number is busy there, so each call ends at once."""
    tmp_path = tmp_path_factory.mktemp("schemathesis")
    flows_dir = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows_dir)
    dial = build_dial_harness(tmp_path, flows_dir, http_listen="127.0.0.1:0", api_keys=(KEY,))
    dial.simulator.add_callee("*", "busy")
    try:
        yield client_for(dial.controller)
    finally:
        close_dial_harness(dial)


@SCHEMA.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
)
def test_the_api_matches_its_openapi_document(case: Any, live_api: ApiClient) -> None:
    # The request runs on gevent's thread pool: the server shares this thread's event loop.
    gevent.get_hub().threadpool.apply(
        case.call_and_validate,
        kwds={
            "base_url": live_api.base_url,
            "headers": {"x-api-key": KEY},
            "excluded_checks": EXCLUDED_CHECKS,
            "timeout": 30,
        },
    )


def test_the_checks_would_catch_an_api_that_strays_from_its_document(
    live_api: ApiClient,
) -> None:
    """The run above is not vacuous: with a document that leaves out the 404 of GET
    /api/flows/{id}, and one that says a flow's `serving` is text, the same checks fail."""
    document = yaml.safe_load(openapi_text())
    del document["paths"]["/api/flows/{id}"]["get"]["responses"]["404"]
    summary = document["components"]["schemas"]["FlowSummary"]["properties"]
    summary["serving"] = {"type": "string"}
    strayed = schemathesis.openapi.from_dict(document)
    operation = strayed["/api/flows/{id}"]["GET"]
    for flow_id in ("no-such-flow", "payment-reminder"):
        case = operation.Case(path_parameters={"id": flow_id})
        with pytest.raises(FailureGroup):
            gevent.get_hub().threadpool.apply(
                case.call_and_validate,
                kwds={"base_url": live_api.base_url, "headers": {"x-api-key": KEY}},
            )
