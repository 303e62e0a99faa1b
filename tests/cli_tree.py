"""The whole `ocma` command tree (every installed plugin's commands too), and parsing a command line against it."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

import click

from ocma_core.cli.main import cli

Path_ = tuple[str, ...]


def _walk(path: Path_, command: click.Command) -> Iterator[tuple[Path_, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "ocma")
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"ocma {' '.join(path)} lists {name} but cannot load it"
            yield from _walk((*path, name), sub)


def command_tree() -> dict[Path_, click.Command]:
    """Every command under `ocma` by its path of names, with every installed plugin loaded."""
    from ocma_core.cli.main import _add_plugin_commands
    from ocma_core.plugins import reset_host

    reset_host(None)  # every installed plugin, as a user's `ocma` has them
    try:
        _add_plugin_commands()
    finally:
        reset_host(None)
    return dict(_walk((), cli))


def resolve(words: list[str]) -> tuple[Path_, click.Command, list[str]]:
    """The command a command line names (the longest path of sub-commands) and the rest of its words."""
    command: click.Command = cli
    path: list[str] = []
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        found = command.get_command(click.Context(command, info_name=" ".join(("ocma", *path))), words[0])
        if found is None:
            break
        path.append(words.pop(0))
        command = found
    return tuple(path), command, words


def parse_problem(line: str, *, strict: bool = True) -> str | None:
    """Why `ocma ...` does not parse (unknown command or option, bad value), or None when it does.

    `strict` also requires every required argument and no extra words (a full example); otherwise the line
    may name a command without all its arguments, as prose does ("run `ocma accounts connect`").
    """
    path, command, args = resolve(shlex.split(line)[1:])
    if args and not args[0].startswith("-") and isinstance(command, click.Group):
        return f"{line!r}: `{' '.join(('ocma', *path))}` has no sub-command {args[0]!r}"
    try:
        command.make_context(" ".join(("ocma", *path)), list(args), resilient_parsing=not strict)
    except click.BadParameter as exc:
        if exc.param is not None and isinstance(exc.param.type, click.Path):
            return None  # it names a file the reader has, not one in the test's directory
        return f"{line!r} does not parse: {exc.format_message()}"
    except click.UsageError as exc:
        return f"{line!r} does not parse: {exc.format_message()}"
    except click.exceptions.Exit:
        return None
    return None
