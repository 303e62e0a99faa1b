"""The CI workflow is a valid GitHub Actions workflow that runs .ci/run with services as containers, builds the
image and publishes on a tag; the changelog is kept."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return dict(data)


def test_the_workflow_follows_the_github_actions_schema() -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "github-workflows.json"
    jsonschema.validate(workflow(), json.loads(schema_file.read_text()), cls=jsonschema.Draft7Validator)


def test_it_runs_ci_run_with_services_builds_the_image_and_publishes_on_a_tag() -> None:
    jobs = workflow()["jobs"]
    test = jobs["test"]
    assert {"postgres", "redis"} <= set(test["services"])
    assert any(step.get("run", "").strip() == "bash .ci/run" for step in test["steps"])
    image_steps = jobs["image"]["steps"]
    assert any(s.get("uses", "").startswith("docker/build-push-action") for s in image_steps)
    assert jobs["publish"]["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert jobs["publish"]["permissions"]["id-token"] == "write"
    assert any("uv build --all-packages" in s.get("run", "") for s in jobs["publish"]["steps"])


def test_the_changelog_starts_with_unreleased_and_dates_every_release() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", text, flags=re.M)
    assert headings[0][0] == "Unreleased"
    for version, rest in headings[1:]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version) and re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest), (
            version
        )
