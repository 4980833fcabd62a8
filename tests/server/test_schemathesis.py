"""Property-based test of the live server against its own ``/openapi.json``: no 5xx, no answer off-schema.

Uses schemathesis's Python API over every operation (``from_url`` on a live uvicorn server);
a few examples per operation keep it well under a minute.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]


def test_every_operation_keeps_its_contract(start_server):
    # private URLs refused: generated `url`s must never make the server fetch from this machine
    base_url = start_server(allow_private_urls=False)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:
            case.call_and_validate(checks=CHECKS, timeout=30)

        check()
