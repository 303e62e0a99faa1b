"""docs/reference.md, generated from the docstrings and signatures of the plugin contract.

    python -m ocma_core.reference > docs/reference.md

tests/test_reference_doc.py fails when the file and the code disagree, so the reference cannot drift.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

HEADER = """# Plugin reference

Generated from the code by `python -m ocma_core.reference > docs/reference.md` (a test keeps it in step):
every name here is public, typed (the core ships `py.typed`) and keeps its meaning within a minor release.
Start with docs/plugins.md and the tutorial (docs/plugin-tutorial.md); this page is the contract in full.
"""


def _doc(obj: object) -> str:
    return inspect.cleandoc(obj.__doc__ or "").strip()


def _signature(fn: Callable[..., Any]) -> str:
    text = str(inspect.signature(fn))
    return re.sub(r"\s+", " ", text.replace("'", ""))


def _class_attributes(cls: type) -> Iterator[str]:
    """`name: type = default` of each public class attribute declared on `cls`."""
    hints = dict(getattr(cls, "__annotations__", {}))
    for name, hint in hints.items():
        if name.startswith("_"):
            continue
        value = getattr(cls, name, None)
        shown = value.value if isinstance(value, enum.Enum) else value
        if isinstance(shown, frozenset):
            shown = "{" + ", ".join(sorted(str(getattr(v, "value", v)) for v in shown)) + "}"
        yield f"- `{name}: {str(hint).replace('ClassVar[', '')[: -1 if 'ClassVar' in str(hint) else None]}` = `{shown!r}`"


def _methods(cls: type) -> Iterator[str]:
    for name, member in vars(cls).items():
        if name.startswith("_") or (not callable(member) and not isinstance(member, property)):
            continue
        if isinstance(member, property):
            yield f"#### `{name}` (property)\n\n{_doc(member)}\n"
            continue
        prefix = "async " if inspect.iscoroutinefunction(member) else ""
        yield f"#### `{prefix}{name}{_signature(member)}`\n\n{_doc(member)}\n"


def _dataclass(cls: type) -> str:
    lines = [f"### `{cls.__name__}`\n", _doc(cls), ""]
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            default = (
                f" = `{f.default!r}`"
                if f.default is not dataclasses.MISSING
                else (" = (empty)" if f.default_factory is not dataclasses.MISSING else "")
            )
            lines.append(f"- `{f.name}: {f.type}`{default}")
    elif issubclass(cls, enum.Enum):
        lines += [f"- `{m.name}` = `{m.value!r}`" for m in cls]
    lines.append("")
    return "\n".join(lines)


def _functions(module_name: str, names: list[str]) -> Iterator[str]:
    module = importlib.import_module(module_name)
    for name in names:
        fn = getattr(module, name)
        yield f"### `{name}{_signature(fn)}`\n\n{_doc(fn)}\n"


def render() -> str:
    """The whole reference as Markdown."""
    from ocma_core import errors, hookspecs
    from ocma_core.platforms import base, types
    from ocma_core.testing import conformance, fakeserver

    out = [HEADER, "## Hooks\n"]
    for name, fn in vars(hookspecs).items():
        if callable(fn) and hasattr(fn, "ocma_spec"):
            out.append(f"### `{name}{_signature(fn)}`\n\n{_doc(fn)}\n")
    out += ["## `Platform`\n", _doc(base.Platform), "", "### Class attributes\n"]
    out += [*_class_attributes(base.Platform), "", "### Methods\n", *_methods(base.Platform)]
    out.append("## Records and enums (`from ocma_core import ...`)\n")
    for name in sorted(
        n for n, v in vars(types).items() if isinstance(v, type) and v.__module__ == types.__name__
    ):
        out.append(_dataclass(getattr(types, name)))
    out.append("## Failures (`ocma_core.errors`)\n")
    for name in ("PlatformError", "RateLimited", "AuthExpired", "Rejected", "Transient", "Unconfirmed"):
        out.append(f"### `{name}`\n\n{_doc(getattr(errors, name))}\n")
    out.append("## Helpers\n")
    out += _functions(
        "ocma_core.platforms.responses",
        ["retry_time", "parse_reset", "error_code", "error_detail", "numeric_values"],
    )
    out += _functions("ocma_core.logs", ["register_secret"])
    out += _functions("ocma_core.etags", ["json_etag", "if_match_matches"])
    out.append("## The public app API (`ocma_core.app`)\n")
    from ocma_core import app

    out += [_doc(app), ""]
    for area in app.AREAS:
        module = importlib.import_module(f"ocma_core.app.{area}")
        out.append(f"### `ocma_core.app.{area}`\n\n{_doc(module).splitlines()[0]}\n")
        for name in module.__all__:
            first = (_doc(getattr(module, name)).splitlines() or [""])[0]
            out.append(f"- `{name}`" + (f": {first}" if first else ""))
        out.append("")
    out += ["## Testing kit (`ocma_core.testing`)\n", _doc(conformance), "", "### `FakeControl`\n"]
    out += list(_methods(conformance.FakeControl))
    out.append("### `PlatformConformance` checks\n")
    for name, member in inspect.getmembers(conformance.PlatformConformance):
        if name.startswith("test_"):
            out.append(f"- `{name}`: {_doc(member).splitlines()[0] if _doc(member) else ''}")
    out += ["", "### `FakeRequest`\n", _doc(fakeserver.FakeRequest), "", *_methods(fakeserver.FakeRequest)]
    out += ["### `FakePart`\n", *_methods(fakeserver.FakePart)]
    text = "\n".join(out).rstrip() + "\n"
    return re.sub(r"<(?:function|built-in function) ([\w.]+) at 0x[0-9a-f]+>", r"\1", text)  # no addresses


if __name__ == "__main__":
    print(render(), end="")
