"""The operations tests' fixtures (defined in ops_support, importable by the test modules)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ops_support import empty_pg, processes, redis_url  # noqa: F401
