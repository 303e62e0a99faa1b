"""A one-off plugin for a core that does not exist yet (OCMA_CORE_VERSIONS outside this OCMA's version)."""

from __future__ import annotations

OCMA_CORE_VERSIONS = ">=99.0,<100"
