"""How every command prints: `--json`, tables that never cut ids, key/value views, one style of value.

The rules every command follows (and tests/test_cli_conventions.py checks):
- a listing takes `@json_option` and prints through `emit_list` (a table for people, a JSON array with `--json`);
- a single record prints through `emit_record` (indented `key: value` lines, or a JSON object with `--json`);
- nothing prints a Python repr: values go through `cell` (text) or `to_jsonable` (JSON).
"""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def json_option(fn: F) -> F:
    """`--json`: machine-readable output (the flag every listing and record command takes)."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts and jq)."
    )(fn)


def to_jsonable(value: Any) -> Any:
    """Plain JSON data from rows, dataclasses, pydantic models, enums and datetimes (ISO 8601)."""
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump())
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def print_json(data: Any) -> None:
    """Pretty JSON on stdout (datetimes as ISO 8601, enums as their values)."""
    click.echo(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False))


def cell(value: Any) -> str:
    """One value as a person reads it: no Python reprs, times in UTC to the minute, empty for nothing."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return cell(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return str(value.strftime("%Y-%m-%d %H:%M"))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(cell(v) for v in value)
    return str(value)


Kind = Literal["id", "value", "text"]


@dataclass(frozen=True)
class Column:
    """A table column: `key` names a field of each row (or computes the cell); `kind` says how it may be cut.

    id: never cut or wrapped (ids, URLs, handles: people copy them); value: short, kept whole;
    text: may wrap on a narrow terminal, and is shortened to `max_chars` with an ellipsis when given.
    """

    header: str
    key: str | Callable[[Mapping[str, Any]], Any]
    kind: Kind = "value"
    max_chars: int | None = None

    def text(self, row: Mapping[str, Any]) -> str:
        """This column's cell of `row`."""
        raw = self.key(row) if callable(self.key) else row.get(self.key)
        shown = cell(raw).replace("\n", " ") if self.kind == "text" else cell(raw)
        if self.max_chars and len(shown) > self.max_chars:
            shown = shown[: self.max_chars - 1] + "…"
        return shown


def _is_terminal() -> bool:
    return sys.stdout.isatty()


def render_table(
    columns: Sequence[Column], rows: Sequence[Mapping[str, Any]], *, width: int | None = None
) -> str:
    """The table as text: boxed when `width` (a terminal's) is given, plain aligned columns otherwise.

    Id and value columns are never cut: when they do not fit, the table is wider than the terminal (the
    terminal wraps the line) rather than an id losing characters. Only text columns wrap.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    cells = [[c.text(r) for c in columns] for r in rows]
    widest = [max([len(c.header), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    need = sum(w if c.kind != "text" else min(w, 24) for c, w in zip(columns, widest, strict=True))
    need += 3 * len(columns) + 1
    table = Table(box=box.SQUARE if width else None, show_edge=bool(width), pad_edge=bool(width))
    for c, w in zip(columns, widest, strict=True):
        if c.kind == "text":
            table.add_column(c.header, overflow="fold", min_width=min(w, 24))
        else:
            table.add_column(c.header, no_wrap=True, min_width=w, overflow="ignore")
    for row in cells:
        table.add_row(*(Text(value) for value in row))  # Text: a "[...]" in a post is not rich markup
    full = sum(widest) + 3 * len(columns) + 1
    out = io.StringIO()
    console = Console(
        file=out,
        width=max(width, need) if width else full,
        force_terminal=bool(width),
        color_system="standard" if width else None,
        highlight=False,
    )
    console.print(table)
    text = out.getvalue()
    return "\n".join(line.rstrip() for line in text.splitlines())


def table(headers: list[str], rows: list[list[Any]]) -> None:
    """A table from positional rows; every column is kept whole (prefer `emit_list` with Columns)."""
    columns = [Column(h, str(i)) for i, h in enumerate(headers)]
    _print_table(columns, [{str(i): v for i, v in enumerate(row)} for row in rows])


def _print_table(columns: Sequence[Column], rows: Sequence[Mapping[str, Any]]) -> None:
    width = shutil.get_terminal_size().columns if _is_terminal() else None
    click.echo(render_table(columns, rows, width=width))


def emit_list(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, as_json: bool, empty: str
) -> None:
    """A listing: the rows as a JSON array with --json (every field), else a table of `columns`.

    `empty` is what a person reads when there is nothing (say how to make something, e.g. the command).
    """
    if as_json:
        print_json(list(rows))
    elif not rows:
        click.echo(empty)
    else:
        _print_table(columns, rows)


def emit_record(record: Mapping[str, Any], *, as_json: bool, title: str | None = None) -> None:
    """One record: a JSON object with --json, else `key: value` lines (nested mappings indented)."""
    if as_json:
        print_json(record)
        return
    if title:
        click.echo(title)
    for line in field_lines(record):
        click.echo(line)


def field_lines(record: Mapping[str, Any], indent: int = 0) -> list[str]:
    """`key: value` lines for a person; mappings and lists of mappings nest under their key."""
    pad = "  " * indent
    lines: list[str] = []
    for key, value in record.items():
        label = str(key).replace("_", " ")
        if isinstance(value, Mapping) and value:
            lines.append(f"{pad}{label}:")
            lines += field_lines(value, indent + 1)
        elif isinstance(value, list | tuple) and value and isinstance(value[0], Mapping):
            lines.append(f"{pad}{label}:")
            for item in value:
                sub = field_lines(item, indent + 2)
                lines.append(f"{pad}  - {sub[0].strip()}")
                lines += sub[1:]
        else:
            lines.append(f"{pad}{label}: {cell(value) or '-'}")
    return lines
