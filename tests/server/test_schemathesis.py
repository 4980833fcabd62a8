"""schemathesis over every route of the live server against its own ``/openapi.json``, with every check and
every phase (coverage, fuzzing, stateful): no 5xx, no answer off-schema, no undocumented status, schema-valid
requests accepted, schema-invalid ones refused, ``Allow`` on 405. Deterministic and bounded, for CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("schemathesis")

CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_every_operation_keeps_its_contract(start_server, tmp_path):
    # private URLs refused: generated `url`s must never make the server fetch from this machine
    base_url = start_server(allow_private_urls=False)
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", f"{base_url}/openapi.json",
               "--checks", "all", "--max-examples", "10", "--generation-deterministic", "--workers", "1",
               "--request-timeout", "30"]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its cache goes there
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout.split("SUMMARY")[-1]
