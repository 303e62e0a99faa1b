"""Entry point of `ocma`: a click group whose sub-commands load only when used (fast --help)."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ocma_core.cli.examples import examples

# name -> (module, attribute, one-line help). Modules are imported only when the command runs.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "ocma_core.cli.setup",
        "init",
        "Create (or adopt) the encryption key, the database and a workspace.",
    ),
    "serve": ("ocma_core.cli.setup", "serve", "Run the HTTP API (and the embedded worker without Redis)."),
    "worker": ("ocma_core.cli.setup", "worker", "Run publishing workers."),
    "status": ("ocma_core.cli.setup", "status", "Queue depth, workers and the oldest overdue target."),
    "db": ("ocma_core.cli.setup", "db", "Database migrations."),
    "keys": ("ocma_core.cli.setup", "keys", "Encryption keys: generate, rotate, check."),
    "doctor": ("ocma_core.cli.doctor", "doctor", "Check the setup and say what to fix (exit 1 if anything)."),
    "backup": ("ocma_core.cli.backup", "backup", "Write the database and media files into one archive."),
    "restore": ("ocma_core.cli.backup", "restore", "Restore an archive made by `ocma backup`."),
    "plugins": ("ocma_core.cli.admin", "plugins", "List installed plugins, their hooks and load errors."),
    "workspaces": (
        "ocma_core.cli.workspaces",
        "workspaces",
        "List, create and show workspaces; change their settings.",
    ),
    "members": ("ocma_core.cli.members", "members", "List, add, change the role of and remove members."),
    "apikeys": ("ocma_core.cli.admin", "apikeys", "Create, list and revoke API keys."),
    "webhooks": ("ocma_core.cli.webhooks", "webhooks", "Outbound webhooks: add, list, rotate, deliveries."),
    "events": ("ocma_core.cli.webhooks", "events", "Follow the workspace's event log."),
    "notifications": (
        "ocma_core.cli.notifications",
        "notifications",
        "Notifications with read state; --unread, --kind, --mark-read.",
    ),
    "jobs": (
        "ocma_core.cli.jobs",
        "jobs",
        "Background rounds on rq queues: run a job worker, see the queues.",
    ),
    "accounts": ("ocma_core.cli.accounts", "accounts", "Connect and inspect social accounts."),
    "posts": ("ocma_core.cli.posts", "posts", "Create, schedule, check, import and retry posts."),
    "media": ("ocma_core.cli.media", "media", "Upload images and videos to attach to posts."),
    "calendar": (
        "ocma_core.cli.calendar",
        "calendar",
        "Posts of the coming days, in the workspace's timezone.",
    ),
    "content": ("ocma_core.cli.content", "content", "Generate, adapt, optimise and score posts with AI."),
    "image": ("ocma_core.cli.content", "image", "Generate an image for a platform and store it."),
    "ai": ("ocma_core.cli.content", "ai", "AI settings: model, budgets, keys, prices, usage."),
    "metrics": ("ocma_core.cli.analytics", "metrics", "Collect metrics; best times, predictions, A/B tests."),
    "report": ("ocma_core.cli.analytics", "report", "Weekly or monthly report from stored metrics."),
    "clicks": (
        "ocma_core.cli.clicks",
        "clicks",
        "Link clicks from your analytics: the receiver's secret, clicks per campaign.",
    ),
}


class LazyGroup(click.Group):
    """A group that imports a sub-command's module only when that command is invoked (or listed in help).

    Plugin commands come from the `ocma.commands` entry point group, found without importing any plugin;
    commands added through the older `register_commands` hook load every plugin, so only an unknown command
    name does that."""

    _declared: dict[str, Any] | None = None
    _hooks_loaded = False

    def declared(self) -> dict[str, Any]:
        """Plugin commands of the `ocma.commands` entry point group, by name (built-in names win)."""
        if self._declared is None:
            from ocma_core.plugins import command_entry_points

            self._declared = {n: ep for n, ep in command_entry_points().items() if n not in COMMANDS}
        return self._declared

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Built-in and plugin commands, sorted."""
        return sorted(set(COMMANDS) | set(self.commands) | set(self.declared()))

    def _load_declared(self, name: str) -> click.Command:
        entry = self.declared()[name]
        try:
            command = entry.load()
        except Exception as exc:
            raise click.ClickException(
                f"The plugin command `{name}` ({entry.value}) could not be loaded: {exc}. "
                "See `ocma plugins`, or disable its plugin with OCMA_DISABLED_PLUGINS."
            ) from exc
        if not isinstance(command, click.Command):
            raise click.ClickException(f"The plugin entry point {entry.value} is not a click command.")
        self.commands[name] = command
        return command

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command on demand."""
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        spec = COMMANDS.get(cmd_name)
        if spec is not None:
            command = getattr(importlib.import_module(spec[0]), spec[1])
            assert isinstance(command, click.Command)
            return command
        if cmd_name in self.declared():
            return self._load_declared(cmd_name)
        if not self._hooks_loaded:
            self._hooks_loaded = True
            _add_plugin_commands()
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands with their help, importing only the plugin commands' own modules."""
        rows = [(name, spec[2]) for name, spec in COMMANDS.items()]
        for name in self.declared():
            if name not in self.commands:
                try:
                    self._load_declared(name)
                except click.ClickException as exc:
                    rows.append((name, f"(not available: {exc.message})"))
        rows += [(name, cmd.get_short_help_str(70)) for name, cmd in self.commands.items()]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@examples(
    'ocma init --workspace "Acme" --timezone Europe/Berlin',
    "ocma accounts connect bluesky",
    'ocma posts create "Hello world" -a ACCOUNT_ID --at "tomorrow 09:00"',
    "ocma posts list --json",
    "ocma posts create --help  # every command's help ends with examples",
)
@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ocma", prog_name="ocma")
def cli() -> None:
    """OCMA: compose, schedule, publish and measure social media posts.

    Start with `ocma init`, then `ocma serve`. Settings come from OCMA_* environment variables (or
    OCMA_<NAME>_FILE), ./.env, then ocma.env in the data directory (see the README); `ocma doctor` checks them.
    """


def _add_plugin_commands() -> None:
    """Commands added through the `register_commands` hook (this loads every plugin)."""
    from ocma_core.plugins import get_host

    get_host().call("register_commands", cli=cli)


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI, printing OCMA errors as one clear message with the CLI's advice (exit status 1)."""
    from ocma_core.errors import OcmaError, PlatformError

    try:
        from ocma_core.settings_files import apply_to_environ

        apply_to_environ()  # plugins and libraries read os.environ: give them the same settings
        return cli.main(args=argv, standalone_mode=True)
    except OcmaError as exc:
        from ocma_core.cli.errors import report_error

        report_error(exc)
        sys.exit(1)
    except PlatformError as exc:  # a platform call made from a command (accounts test, delete, ...)
        from ocma_core.cli.errors import report_platform_error

        report_platform_error(exc)
        sys.exit(1)
