"""The HTTP API keeps its OpenAPI contract: schemathesis fuzzes every documented operation of a live server.

A real uvicorn on loopback serves a workspace with a connected FakeSocial account, with every installed plugin
loaded (so the agent's and other plugins' routes are fuzzed too) and its embedded worker running (so /readyz is
ready and scheduled posts really go out). Schemathesis (pinned in the dev group) runs all its
phases (examples, coverage, fuzzing, stateful) with every check (`--checks all`), a fixed seed and a bounded
number of examples per operation, on SQLite and on PostgreSQL. It must find no server error and no response
that breaks the documented schema, status codes, content types or headers.

Two settings are not schemathesis' defaults, each for a reason the contract states:
- positive_data_acceptance also accepts 422: business rules no JSON schema can express (an unknown period, a
  time in the past, duplicate variant labels, a file that is empty or not an image) refuse schema-valid input
  with a 422 whose `problems` say what to fix, as /openapi.json documents on every operation.
- the AI operations (content, image generation, the agent) may answer 502/503 (documented there): no model or
  image provider is configured in this test, and reaching a real provider is not allowed. Every other operation may answer no 5xx at all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from live_server import live_server

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.services.workspaces import create_api_key

EXAMPLES = 6  # per operation and phase: a backend took 90-160 s on 2 cores under a load of 10-12
SEED = 20260101
CONFIG = """
# Real ids of this workspace, used in most generated requests, so operations get past "no such post" to
# their real work (approving, publishing, cancelling, deleting a published post, ...).
[dictionaries.posts]
values = {posts}
[dictionaries.accounts]
values = {accounts}
[dictionaries.experiments]
values = {experiments}
[dictionaries.media]
values = {media}

[parameters]
post_id = {{ dictionary = "posts", probability = 0.8 }}
account_id = {{ dictionary = "accounts", probability = 0.8 }}
experiment_id = {{ dictionary = "experiments", probability = 0.8 }}
media_id = {{ dictionary = "media", probability = 0.8 }}

# 412: a conditional change (If-Match) against a version that is not the current one.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428", "429", "5xx"]

# The event stream follows the log until the client leaves (tests/test_event_stream.py covers it).
[[operations]]
include-path = "/v1/events"
enabled = false

[[operations]]
include-path = "/v1/stream"
enabled = false

[[operations]]
include-path-regex = "^/v1/(content/(generate|adapt|optimize|score)|media/generate|agent/threads/[^/]+/messages)$"
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "502", "503"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429", "502", "503"]
"""


def _load_every_plugin() -> None:
    """Every installed plugin, as `ocma serve` loads them, plus the example platform the account uses."""
    import ocma_example_platform

    from ocma_core.plugins import PluginHost, load_plugins, reset_host
    from ocma_core.registry import clear_caches

    host = load_plugins(PluginHost(), env={})
    host.register(ocma_example_platform, name="ocma_example_platform")
    reset_host(host)  # the plugin_host fixture resets it after the test
    clear_caches()


def _seed(ocma: Ocma, workspace_id: str, account_id: str) -> dict[str, str]:
    """A draft, a scheduled and a published post, an experiment and an image; their ids as TOML lists."""
    from datetime import timedelta

    from tests_support import publish_and_wait

    from ocma_core.ai.testing.png import png
    from ocma_core.analytics.experiments import VariantSpec, create_experiment
    from ocma_core.db.types import utcnow
    from ocma_core.services import posts
    from ocma_core.services.media import store_media
    from ocma_core.services.post_input import PostInput

    draft = posts.create_post(ocma, workspace_id, PostInput(body="A draft", account_ids=[account_id]))
    later = PostInput(
        body="Later", account_ids=[account_id], action="schedule", scheduled_at=utcnow() + timedelta(days=2)
    )
    scheduled = posts.create_post(ocma, workspace_id, later)
    published = publish_and_wait(ocma, workspace_id, [account_id], "Published before the run")
    variants = [VariantSpec("A", "Variant A"), VariantSpec("B", "Variant B")]
    experiment = create_experiment(ocma, workspace_id, "Seeded", variants, account_ids=[account_id])
    media = store_media(ocma, workspace_id, png(64, 48), filename="seed.png")

    def toml(*ids: str) -> str:
        return "[" + ", ".join(f'"{i}"' for i in ids) + "]"

    return {
        "posts": toml(draft.id, scheduled.id, published),
        "accounts": toml(account_id),
        "experiments": toml(experiment.id),
        "media": toml(media.id),
    }


@pytest.mark.timeout(900)  # a whole fuzzing run, far more than the default 120 s per test
def test_schemathesis_finds_no_server_error_and_no_contract_violation(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, tmp_path: Path
) -> None:
    _load_every_plugin()
    key = create_api_key(ocma, workspace_id, role=Role.OWNER).key
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(**_seed(ocma, workspace_id, account_id)), encoding="utf-8")
    with live_server(create_app(ocma, run_worker=True)) as url:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(config),
                "run",
                f"{url}/openapi.json",
                "--checks",
                "all",
                # `all` includes a 10 s response-time limit: the project asserts no wall-clock timing in
                # tests (speed belongs in benchmarks/), so it is lifted far past the request timeout below.
                "--max-response-time",
                "3600",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "1",
                "--generation-database",
                "none",
                "--header",
                f"Authorization: Bearer {key}",
                "--request-timeout",
                "120",  # a safety net, not a timing assertion (charts render slowly on a busy machine)
                "--no-color",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=600,
            check=False,
        )
    report = run.stdout[-30000:] + run.stderr[-4000:]
    assert run.returncode == 0, report
    assert "API Operations" in run.stdout and "Tested:" in run.stdout, report
