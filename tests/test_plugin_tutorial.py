"""The plugin tutorial's code is the Discord plugin's code, the reference is the code's, and the skeleton
`ocma plugins new platform` writes passes the conformance kit as it is."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ocma_core.reference import render

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```python\n# (?P<path>\S+)\n(?P<code>.*?)\n```", re.S)


def test_every_tutorial_block_is_in_the_file_it_names() -> None:
    text = (ROOT / "docs" / "plugin-tutorial.md").read_text()
    blocks = list(BLOCK.finditer(text))
    assert len(blocks) >= 7
    stale = [m["path"] for m in blocks if m["code"] not in (ROOT / m["path"]).read_text()]
    assert stale == [], "docs/plugin-tutorial.md: copy the changed code again"


def test_the_reference_is_generated_from_the_code() -> None:
    assert (ROOT / "docs" / "reference.md").read_text() == render(), (
        "run: python -m ocma_core.reference > docs/reference.md"
    )


@pytest.mark.timeout(900)  # a pytest and a mypy run of their own
def test_the_skeleton_passes_the_kit_and_strict_mypy(tmp_path: Path) -> None:
    from ocma_core.cli.main import cli

    folder = tmp_path / "ocma-pigeon"
    result = CliRunner().invoke(cli, ["plugins", "new", "platform", "pigeon", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "ocma_pigeon" / "py.typed").exists()
    env = {**os.environ, "PYTHONPATH": str(folder)}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
        capture_output=True, text=True, env=env, cwd=folder, timeout=300,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(ROOT / ".mypy_cache"), "ocma_pigeon", "tests"],
        capture_output=True, text=True, env=env, cwd=folder, timeout=300,
    )  # fmt: skip
    assert mypy.returncode == 0, mypy.stdout


def test_new_refuses_an_existing_directory(tmp_path: Path) -> None:
    from ocma_core.cli.main import cli

    result = CliRunner().invoke(cli, ["plugins", "new", "platform", "pigeon", "--dir", str(tmp_path)])
    assert result.exit_code != 0 and "exists already" in str(result.exception)
