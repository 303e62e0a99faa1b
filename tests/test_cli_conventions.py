# ruff: noqa: F811  (the cli_run fixture is imported from cli_fixtures)
"""The whole `ocma` command tree, with every installed plugin's commands, follows the CLI's conventions.

Every command shows runnable examples that parse against the command itself, every option says what it does,
every listing takes --json and prints valid JSON, and tables print ids whole however narrow the terminal.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import click
import pytest
from cli_fixtures import Run, cli_run  # noqa: F401
from cli_tree import command_tree, parse_problem, resolve

from ocma_core.cli.examples import examples_in
from ocma_core.context import Ocma

# Listings not named `list`: read-only commands that print many rows (or a status made of rows).
OTHER_LISTINGS = {
    ("plugins",),
    ("status",),
    ("posts", "failed"),
    ("ai", "usage"),
    ("metrics", "best-time"),
    ("notifications",),
}


TREE = command_tree()
LEAVES = {
    path: c
    for path, c in TREE.items()
    if path
    and (not isinstance(c, click.Group) or c.invoke_without_command)
    and not getattr(c, "hidden", False)
}
LISTINGS = sorted(p for p in LEAVES if p[-1] == "list" or p in OTHER_LISTINGS)


def _help(path: tuple[str, ...], command: click.Command) -> str:
    ctx = click.Context(command, info_name=" ".join(("ocma", *path)))
    return command.get_help(ctx)


def _ids(paths: Any) -> list[str]:
    return [" ".join(p) for p in paths]


def test_the_tree_has_the_commands_users_know() -> None:
    for path in [("posts", "create"), ("media", "upload"), ("accounts", "list"), ("init",), ("chat",)]:
        assert path in LEAVES, f"ocma {' '.join(path)} is missing"


def test_ocma_help_starts_a_newcomer_with_examples() -> None:
    found = examples_in(_help((), TREE[()]))
    assert any(e.startswith("ocma init") for e in found)
    assert all(parse_problem(e) is None for e in found), [parse_problem(e) for e in found]


@pytest.mark.parametrize("path", sorted(LEAVES), ids=_ids(sorted(LEAVES)))
def test_every_command_has_examples_that_parse(path: tuple[str, ...]) -> None:
    command = LEAVES[path]
    found = examples_in(_help(path, command))
    assert found, f"`ocma {' '.join(path)} --help` shows no example (use @examples above the command)"
    for example in found:
        assert resolve(shlex.split(example)[1:])[1] is command, f"{example!r} is not `ocma {' '.join(path)}`"
        problem = parse_problem(example)
        assert problem is None, problem


@pytest.mark.parametrize("path", sorted(LEAVES), ids=_ids(sorted(LEAVES)))
def test_every_option_has_help(path: tuple[str, ...]) -> None:
    command = LEAVES[path]
    assert (command.help or "").strip(), f"ocma {' '.join(path)} has no help text"
    missing = [
        p.opts[0]
        for p in command.params
        if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()
    ]
    assert not missing, f"ocma {' '.join(path)}: options without help: {missing}"


@pytest.mark.parametrize("path", LISTINGS, ids=_ids(LISTINGS))
def test_every_listing_takes_json(path: tuple[str, ...]) -> None:
    options = {o for p in LEAVES[path].params if isinstance(p, click.Option) for o in p.opts}
    assert "--json" in options, f"ocma {' '.join(path)} is a listing without --json"


@pytest.fixture
def seeded(ocma: Ocma, workspace_id: str, account_id: str) -> dict[str, str]:
    """A workspace with an account, a draft, an API key and a stored image."""
    from ocma_core.services.media import store_media
    from ocma_core.services.post_input import PostInput
    from ocma_core.services.posts import create_post
    from ocma_core.services.workspaces import create_api_key

    post = create_post(ocma, workspace_id, PostInput(body="A draft", account_ids=[account_id]))
    key = create_api_key(ocma, workspace_id, name="ci")
    from test_media import png

    media = store_media(ocma, workspace_id, png(4, 3), filename="tiny.png")
    return {"account": account_id, "post": post.id, "key": key.record.key_id, "media": media.id}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_listing_prints_valid_json(cli_run: Run, seeded: dict[str, str]) -> None:
    for path in LISTINGS:
        code, out, err = cli_run(*path, "--json")
        assert code == 0, f"ocma {' '.join(path)} --json failed: {err}"
        try:
            json.loads(out)
        except ValueError:
            pytest.fail(f"ocma {' '.join(path)} --json printed no JSON: {out[:200]!r}")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (("accounts", "list"), "account"),
        (("posts", "list"), "post"),
        (("apikeys", "list"), "key"),
        (("media", "list"), "media"),
        (("workspaces", "list"), None),
    ],
)
def test_tables_print_ids_whole_on_a_narrow_terminal(
    cli_run: Run, seeded: dict[str, str], workspace_id: str, argv: tuple[str, ...], key: str | None
) -> None:
    wanted = seeded[key] if key else workspace_id
    code, out, _ = cli_run(*argv)
    assert code == 0
    assert any(wanted in line for line in out.splitlines()), out


def test_a_terminal_table_wider_than_the_screen_keeps_ids_whole() -> None:
    from ocma_core.cli.output import Column, render_table

    ident = "0195f3c2-8a7b-7c1e-9d2f-4b6a8e0c1d3f"
    columns = [Column("id", "id", kind="id"), Column("text", "text", kind="text", max_chars=60)]
    shown = render_table(columns, [{"id": ident, "text": "word " * 30}], width=30)
    assert any(ident in line for line in shown.splitlines())
    assert "…" in shown  # the text column was shortened, the id was not


def test_cells_are_text_not_markup() -> None:
    from ocma_core.cli.output import Column, render_table

    shown = render_table([Column("text", "text", kind="text")], [{"text": "[bold]Sale[/bold] [1/3]"}])
    assert "[bold]Sale[/bold] [1/3]" in shown
