"""A publishing worker loads its publish path's lazy imports before its first claim, not in its first posts."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from ocma_core.engine.warm import HOT_PATH_MODULES, warm_up

PROBE = """
import json, sys
import ocma_core.engine.worker
before = sorted(m for m in {modules!r} if m in sys.modules)
from ocma_core.engine.warm import warm_up
missing = warm_up()
print(json.dumps({{"before": before, "missing": missing, "after": sorted(m for m in {modules!r} if m in sys.modules)}}))
"""


def test_warm_up_loads_what_the_first_publish_would_import() -> None:
    """In a fresh interpreter the worker module leaves the heavy publish-path modules unloaded; warm_up loads
    every one of them (aiohttp included), so none is imported while the first posts are in flight."""
    modules = (*HOT_PATH_MODULES, "aiohttp")
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(modules=modules)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert "aiohttp" not in seen["before"]
    assert "ocma_core.net.aio" not in seen["before"]
    assert seen["missing"] == []
    assert seen["after"] == sorted(modules)


def test_a_module_that_fails_to_load_is_reported_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    """A broken optional module must not stop the worker: it is named in the log and in the result."""
    with caplog.at_level(logging.WARNING, logger="ocma_core.engine.warm"):
        missing = warm_up(("ocma_core.engine.warm", "ocma_core.no_such_module_here"))
    assert missing == ["ocma_core.no_such_module_here"]
    assert "ocma_core.no_such_module_here" in caplog.text
