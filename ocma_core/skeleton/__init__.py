"""`ocma plugins new platform NAME`: a working plugin skeleton, with its fake and conformance test.

The files are templates in this package (`platform/*.tmpl`); the generated plugin passes the conformance kit
as it is, so an author changes one working thing at a time.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from ocma_core.errors import ValidationFailed

# template -> where it goes in the new plugin (NAME is the platform's name)
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "ocma_NAME/__init__.py",
    "platform.py.tmpl": "ocma_NAME/platform.py",
    "fake.py.tmpl": "tests/fake_NAME.py",
    "conftest.py.tmpl": "tests/conftest.py",
    "test_conformance.py.tmpl": "tests/test_NAME_conformance.py",
}


def new_platform(
    name: str, folder: Path, *, display: str | None = None, api_base: str | None = None
) -> list[Path]:
    """Write the skeleton of platform plugin `name` into `folder` (which must not exist); the files written."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValidationFailed(f"{name!r} is not a platform name: use lower-case letters, digits and _.")
    if folder.exists():
        raise ValidationFailed(f"{folder} exists already.", fix="Pick a new directory (--dir).")
    words = {
        "__NAME__": name,
        "__UPPER__": name.upper(),
        "__CLASS__": "".join(part.capitalize() for part in name.split("_")),
        "__DISPLAY__": display or name.replace("_", " ").title(),
        "__API__": api_base or f"https://api.{name}.example",
    }
    written = []
    templates = resources.files("ocma_core.skeleton").joinpath("platform")
    for template, target in LAYOUT.items():
        text = templates.joinpath(template).read_text()
        for key, value in words.items():
            text = text.replace(key, value)
        path = folder / target.replace("NAME", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    (folder / f"ocma_{name}" / "py.typed").write_text("")
    return written
