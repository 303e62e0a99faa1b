"""The sandbox passes the OCMA platform conformance kit, with faults injected into its feed file."""

from __future__ import annotations

from pathlib import Path

import pytest
from ocma_sandbox.platform import SandboxPlatform
from sandbox_control import SandboxControl

from ocma_core.testing.conformance import PlatformConformance


class TestSandboxConformance(PlatformConformance):
    """Every kit check against a sandbox feed in a temporary directory."""

    credentials = {"name": "conformance"}
    threads_in_one_call = True  # the feed stores a thread whole, in one transaction

    @pytest.fixture
    def fake(self, tmp_path: Path) -> SandboxControl:
        return SandboxControl(tmp_path / "sandbox")

    @pytest.fixture
    def platform(self, fake: SandboxControl) -> SandboxPlatform:
        return SandboxPlatform(
            env={"OCMA_SANDBOX_DIR": str(fake.folder), "OCMA_PUBLIC_URL": "http://127.0.0.1:8000"}
        )
