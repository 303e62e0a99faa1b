"""`ocma slack --socket` when reconnecting fails (https://docs.slack.dev/reference/methods/apps.connections.open):
an app-level token Slack stops accepting while the bot runs (revoked, app uninstalled) stops the bot with the
error and what to do, instead of slack_sdk asking again every ping interval forever; a transient failure (an
HTTP 5xx, `ratelimited`, `internal_error`) is retried and the bot carries on."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator

import pytest
from agent_model import ScriptedModel
from fake_slack import APP_TOKEN, FakeSlack
from fake_socket_mode import FakeSocketMode
from ocma_slack.socket_mode import SocketModeRunner
from test_slack_socket_reconnect import FAST_PING, assert_answers_on_the_new_connection, connections_opened

from ocma_core.context import Ocma
from ocma_core.errors import ConfigError
from ocma_core.plugins import PluginHost
from ocma_core.testing.fakeserver import FakeResponse


@pytest.fixture
def ping_interval() -> float:
    """A short ping interval, so that a drop is noticed fast (the production default is 10 s)."""
    return FAST_PING


class Served:
    """A SocketModeRunner on a background thread, with whatever run() ended with."""

    def __init__(self, runner: SocketModeRunner) -> None:
        self.runner = runner
        self.failures: list[BaseException] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        try:
            asyncio.run(self.runner.run())
        except BaseException as exc:  # handed to the test thread
            self.failures.append(exc)

    def ended(self, timeout: float) -> bool:
        """Whether run() returned or raised within `timeout` seconds."""
        self.thread.join(timeout)
        return not self.thread.is_alive()


@pytest.fixture
def served(ocma: Ocma, plugin_host: PluginHost, socket_mode: FakeSocketMode) -> Iterator[Served]:
    """The bot connected over Socket Mode, its end observable; stopped afterwards if it is still running."""
    import ocma_slack
    from ocma_slack.runtime import runtime_for

    plugin_host.register(ocma_slack, name="slack")
    bot = Served(SocketModeRunner(runtime_for(ocma, socket=True), ping_interval=FAST_PING))
    bot.thread.start()
    socket_mode.wait_connected()
    assert bot.runner.connected.wait(5)
    yield bot
    bot.runner.stop()
    assert bot.ended(5)


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "account_inactive"])
def test_a_revoked_app_token_stops_the_bot_with_the_error(
    workspace_id: str,
    slack: FakeSlack,
    socket_mode: FakeSocketMode,
    served: Served,
    caplog: pytest.LogCaptureFixture,
    error: str,
) -> None:
    caplog.set_level(logging.ERROR, logger="ocma_slack.socket_mode")
    slack.revoke_app_token(error)
    socket_mode.drop()  # the bot must ask apps.connections.open for a new URL now
    if not served.ended(3):  # pragma: no cover - the failure being tested for: it keeps retrying
        pytest.fail("the bot kept retrying after Slack refused its app-level token")
    assert len(served.failures) == 1 and isinstance(served.failures[0], ConfigError)
    failure = served.failures[0]
    assert error in str(failure) and "apps.connections.open" in str(failure)
    assert "connections:write" in (failure.fix or "") and "OCMA_SLACK_APP_TOKEN" in (failure.fix or "")
    assert any(error in r.getMessage() and "stopped" in r.getMessage() for r in caplog.records)
    asked = len(connections_opened(slack))
    time.sleep(4 * FAST_PING)  # several reconnect intervals: nothing asks again
    assert (
        len(connections_opened(slack)) == asked <= 3
    )  # the first URL, then at most slack_sdk's parallel tries
    assert socket_mode.hellos == 1 and socket_mode.open_connections() == 0


@pytest.mark.timeout(20)  # without the fix the command never returns
def test_the_cli_exits_with_the_error_when_the_app_token_is_revoked(
    ocma: Ocma,
    workspace_id: str,
    plugin_host: PluginHost,
    slack: FakeSlack,
    socket_mode: FakeSocketMode,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ocma_slack
    from click.testing import CliRunner
    from ocma_slack.cli import slack as slack_command

    plugin_host.register(ocma_slack, name="slack")
    settings = ocma.settings
    monkeypatch.setenv("OCMA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OCMA_DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", str(settings.encryption_keys))

    def revoke() -> None:
        socket_mode.wait_connected()
        slack.revoke_app_token("invalid_auth")
        socket_mode.drop()  # a close: slack_sdk asks for a new URL at once, whatever its ping interval

    threading.Thread(target=revoke, daemon=True).start()
    result = CliRunner().invoke(slack_command, ["--socket"])
    assert result.exit_code == 1
    assert "invalid_auth" in result.output and "OCMA_SLACK_APP_TOKEN" in result.output
    assert result.output.count("connections:write") == 1  # the fix is said once


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(FakeResponse(500, "Internal Server Error"), id="http-500"),
        pytest.param(
            FakeResponse(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"}),
            id="ratelimited",
        ),
        pytest.param(FakeResponse(200, {"ok": False, "error": "internal_error"}), id="internal-error"),
    ],
)
def test_a_transient_failure_to_reconnect_is_retried(
    workspace_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    socket_mode: FakeSocketMode,
    served: Served,
    answer: FakeResponse,
) -> None:
    slack.fail_connections_open(answer)
    socket_mode.drop()
    socket_mode.wait_connected(2, timeout=30)
    assert slack.connections_open_failures == []  # the failure was served, then a URL
    assert not served.ended(3 * FAST_PING) and served.failures == []  # still running
    assert connections_opened(slack).count(APP_TOKEN) >= 3  # the first URL, the failure, the new URL
    assert socket_mode.open_connections() == 1
    assert_answers_on_the_new_connection(socket_mode, slack, model)
