"""Prompt templates per task and platform, in files a workspace can override.

A template named e.g. "generate", "platform/x" or "objective/clicks" is taken from, in order:
1. the workspace setting settings["prompts"][name] (set through the API or `ocma content prompt`);
2. the file {OCMA_DATA_DIR}/prompts/{workspace_id}/{name}.txt;
3. the file {OCMA_DATA_DIR}/prompts/{name}.txt (for every workspace of the instance);
4. the built-in file ocma_core/content/prompts/{name}.txt.
Templates use $name placeholders (string.Template); unknown placeholders are left as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ocma_core.ai.settings import AIConfig
from ocma_core.context import Ocma
from ocma_core.errors import NotFoundError, ValidationFailed

BUILTIN = Path(__file__).parent / "prompts"
_NAME = re.compile(r"^[a-z][a-z0-9_-]*(/[a-z0-9_-]+)?$")


@dataclass(frozen=True)
class Prompt:
    """A template's text and where it came from."""

    name: str
    text: str
    source: str

    def render(self, **values: object) -> str:
        """The text with $placeholders filled in."""
        return Template(self.text).safe_substitute({k: str(v) for k, v in values.items()})


def check_name(name: str) -> str:
    """A template name such as "generate" or "platform/x", or a ValidationFailed."""
    if not _NAME.match(name):
        raise ValidationFailed(
            f"{name!r} is not a prompt template name.",
            fix="Use a name such as generate, adapt, repair, optimize, score, system, "
            "platform/<platform> or objective/<objective>.",
        )
    return name


def builtin_names() -> list[str]:
    """Names of the built-in templates."""
    return sorted(str(p.relative_to(BUILTIN).with_suffix("")) for p in BUILTIN.rglob("*.txt"))


def load(ocma: Ocma, config: AIConfig, name: str, *, default: str | None = None) -> Prompt:
    """The effective template `name` for the workspace (falling back to template `default`)."""
    check_name(name)
    if name in config.prompts:
        return Prompt(name, config.prompts[name], "workspace setting")
    root = ocma.settings.data_dir / "prompts"
    for path, source in (
        (root / config.workspace_id / f"{name}.txt", "workspace file"),
        (root / f"{name}.txt", "instance file"),
        (BUILTIN / f"{name}.txt", "built-in"),
    ):
        if path.is_file():
            return Prompt(name, path.read_text(encoding="utf-8"), f"{source} {path}")
    if default is not None:
        return load(ocma, config, default)
    raise NotFoundError(
        f"No prompt template {name!r}.", fix=f"Known templates: {', '.join(builtin_names())}."
    )


def set_prompt(ocma: Ocma, workspace_id: str, name: str, text: str | None) -> None:
    """Override template `name` for the workspace (None removes the override)."""
    from ocma_core.ai.settings import load_config
    from ocma_core.services.workspaces import update_settings

    check_name(name)
    if text is not None and not text.strip():
        raise ValidationFailed(
            "The template is empty.", fix="Give the template text, or remove the override."
        )
    prompts = dict(load_config(ocma, workspace_id).prompts)
    if text is None:
        prompts.pop(name, None)
    else:
        prompts[name] = text
    update_settings(ocma, workspace_id, prompts=prompts)
