"""`ocma slack --socket` survives Slack's reconnects (https://docs.slack.dev/apis/events-api/using-socket-mode):
a `disconnect` message (`warning`, `refresh_requested`) or a dropped or silent connection makes it ask
apps.connections.open for a new one-time URL and carry on there; `link_disabled` (Socket Mode turned off for the
app) stops it with the reason instead of retrying forever."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import pytest
from agent_model import ScriptedModel
from fake_slack import APP_TOKEN, FakeSlack
from fake_socket_mode import FakeSocketMode
from ocma_slack.socket_mode import SocketModeRunner
from slack_payloads import events_envelope, mention

from ocma_core.context import Ocma
from ocma_core.errors import ConfigError
from ocma_core.plugins import PluginHost

FAST_PING = 0.3  # the client's ping interval here: a dead connection is noticed within about a second


@pytest.fixture
def ping_interval() -> float:
    """A short ping interval, so that a drop is noticed fast (the production default is 10 s)."""
    return FAST_PING


def connections_opened(slack: FakeSlack) -> list[str | None]:
    """The token of every apps.connections.open call."""
    return [r.bearer() for r in slack.requests_to("POST", r"/api/apps\.connections\.open")]


def assert_answers_on_the_new_connection(
    socket_mode: FakeSocketMode, slack: FakeSlack, model: ScriptedModel
) -> None:
    """A mention sent over the newest connection reaches the agent, is acknowledged and answered."""
    model.script("Still here after the reconnect.")
    body = mention("U0EDITOR", "are you there?")
    envelope_id = socket_mode.send(events_envelope(body))
    assert socket_mode.wait_ack(envelope_id, timeout=30) == {"envelope_id": envelope_id}
    answer = slack.wait_for("chat.postMessage")[0]  # the first agent turn of a run imports litellm (~6 s)
    assert answer["text"] == "Still here after the reconnect."
    assert answer["channel"] == "C0GENERAL" and answer["thread_ts"] == body["event"]["ts"]
    assert "are you there?" in str(model.chat_bodies()[-1]["messages"][-1]["content"])


def assert_reconnected(socket_mode: FakeSocketMode, slack: FakeSlack, at_most: int = 1) -> None:
    """The bot is on a new connection from a fresh URL (apps.connections.open with the app token), and stays there.

    slack_sdk may reconnect twice for one refresh: once for the `disconnect` message and once for the close that
    follows it; both URLs come from apps.connections.open, and the first of the two connections is closed again."""
    settled, deadline = -1, time.monotonic() + 3
    while settled != socket_mode.hellos and time.monotonic() < deadline:  # no new connection for a while
        settled = socket_mode.hellos
        time.sleep(3 * FAST_PING)
    assert 2 <= socket_mode.hellos <= 1 + at_most
    assert connections_opened(slack) == [APP_TOKEN] * socket_mode.hellos  # one fresh URL per connection
    assert all(socket_mode.tickets.values()) and socket_mode.refused == 0  # no old, used URL tried again
    assert socket_mode.open_connections() == 1  # the old connections are closed, not left dangling


@pytest.mark.parametrize("reason", ["refresh_requested", "warning"])
def test_a_disconnect_message_moves_the_bot_to_a_new_connection(
    ocma: Ocma,
    workspace_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    socket_mode: FakeSocketMode,
    socket_bot: SocketModeRunner,
    reason: str,
) -> None:
    # refresh_requested comes with Slack closing the socket; warning comes ~10 s before that, socket still open
    socket_mode.disconnect(reason, close=reason == "refresh_requested")
    socket_mode.wait_connected(2, timeout=30)
    assert_reconnected(socket_mode, slack, at_most=2)
    assert_answers_on_the_new_connection(socket_mode, slack, model)


@pytest.mark.parametrize(
    "drop",
    [
        pytest.param(lambda fake: fake.drop(), id="closed-without-a-message"),
        pytest.param(lambda fake: fake.drop(abort=True), id="tcp-connection-cut"),
        pytest.param(lambda fake: fake.silence(), id="half-open-no-pongs"),
    ],
)
def test_a_lost_connection_is_replaced(
    ocma: Ocma,
    workspace_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    socket_mode: FakeSocketMode,
    socket_bot: SocketModeRunner,
    drop: Callable[[FakeSocketMode], None],
) -> None:
    drop(socket_mode)
    socket_mode.wait_connected(2, timeout=10 * FAST_PING)
    assert_reconnected(socket_mode, slack)
    assert_answers_on_the_new_connection(socket_mode, slack, model)


def test_link_disabled_stops_the_bot_with_the_reason(
    ocma: Ocma,
    workspace_id: str,
    plugin_host: PluginHost,
    slack: FakeSlack,
    socket_mode: FakeSocketMode,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import ocma_slack
    from ocma_slack.runtime import runtime_for

    plugin_host.register(ocma_slack, name="slack")
    runner = SocketModeRunner(runtime_for(ocma, socket=True), ping_interval=FAST_PING)
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(runner.run())
        except BaseException as exc:  # handed to the test thread
            failures.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    socket_mode.wait_connected()
    caplog.set_level(logging.ERROR, logger="ocma_slack.socket_mode")
    socket_mode.disconnect("link_disabled")
    thread.join(5)
    if thread.is_alive():  # pragma: no cover - the failure being tested for: it keeps retrying
        runner.stop()
        thread.join(5)
        pytest.fail("the bot kept running after Slack disabled Socket Mode")
    assert len(failures) == 1 and isinstance(failures[0], ConfigError)
    assert "link_disabled" in str(failures[0]) and "Socket Mode" in (failures[0].fix or "")
    assert any("link_disabled" in r.getMessage() for r in caplog.records)
    time.sleep(5 * FAST_PING)  # several reconnect intervals: nothing tries again
    assert socket_mode.hellos == 1 and socket_mode.open_connections() == 0
    assert len(connections_opened(slack)) <= 2  # at most slack_sdk's one immediate attempt, then nothing


def test_the_cli_exits_with_the_reason_when_socket_mode_is_turned_off(
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

    def turn_off() -> None:
        socket_mode.wait_connected()
        socket_mode.disconnect("link_disabled")

    threading.Thread(target=turn_off, daemon=True).start()
    result = CliRunner().invoke(slack_command, ["--socket"])
    assert result.exit_code == 1
    assert "link_disabled" in result.output and "Settings → Socket Mode" in result.output
    assert result.output.count("Settings → Socket Mode") == 1  # the fix is said once
