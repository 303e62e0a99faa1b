"""Which OCMA core versions a plugin supports, and whether the running core is one of them.

A packaged plugin declares them as its requirement on the `ocma` distribution (`"ocma>=0.1,<0.2"` in its
pyproject's dependencies); a one-off module plugin (OCMA_PLUGIN_MODULES) as `OCMA_CORE_VERSIONS = ">=0.1,<0.2"`.
pip checks the requirement at install time, but a core upgraded later, or a plugin installed with --no-deps,
can still end up out of range: `ocma plugins` and `ocma doctor` say so.
"""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from ocma_core import __version__

CORE = "ocma"


def declared_versions(distribution: str | None, plugin: object | None) -> str | None:
    """The core versions a plugin declares ('' when it accepts any; None when it says nothing)."""
    attribute = getattr(plugin, "OCMA_CORE_VERSIONS", None)
    if isinstance(attribute, str):
        return attribute
    if not distribution or canonicalize_name(distribution) == CORE:
        return None
    try:
        requirements = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return None
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == CORE and requirement.marker is None:
            return str(requirement.specifier)
    return None


def misfit(name: str, versions: str | None, core: str = __version__) -> str | None:
    """Why the plugin does not fit this core (None when it does, or declares nothing)."""
    if not versions:
        return None
    try:
        spec = SpecifierSet(versions)
    except InvalidSpecifier:
        return f"declares core versions {versions!r}, which is not a version range (e.g. '>=0.1,<0.2')"
    if spec.contains(core, prereleases=True):
        return None
    return (
        f"supports OCMA {versions}, but this is OCMA {core}: install a release of {name} made for OCMA {core}, "
        "or the OCMA version it supports"
    )
