"""A fake Slack Web API on loopback: records every call and answers like Slack (https://docs.slack.dev/reference/methods).

Web API methods are POSTed to BASE/<method> with form or JSON bodies and a `Bearer` token; every answer is
HTTP 200 with `{"ok": true, ...}` or `{"ok": false, "error": "..."}`, except the failures a test queues for
apps.connections.open (an HTTP 5xx page, a 429 `ratelimited` with Retry-After).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any

from ocma_core.testing.fakeserver import FakeRequest, FakeResponse, FakeServer

if TYPE_CHECKING:
    from fake_socket_mode import FakeSocketMode

BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-1-A0TEST-1-test-app-token"
TEAM_ID = "T0TEST"
BOT_USER = "U0BOT"


class FakeSlack(FakeServer):
    """Slack's Web API methods the bot uses, with users (for users.info) and recorded uploads."""

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens = {BOT_TOKEN: TEAM_ID}
        self.uploads: dict[str, bytes] = {}
        self.socket_mode: FakeSocketMode | None = None  # where apps.connections.open sends the app
        self.app_token_error: str | None = None  # set by revoke_app_token()
        self.connections_open_failures: list[FakeResponse] = []  # answered first, one per call
        self._ts = itertools.count(1)
        self._routes_setup()

    @property
    def api_url(self) -> str:
        """The Web API base URL, with the trailing slash slack_sdk needs."""
        return self.base_url + "/api/"

    def add_user(self, user_id: str, tz: str = "Europe/Berlin", name: str = "") -> None:
        """A Slack user users.info knows."""
        self.users[user_id] = {"id": user_id, "name": name or user_id.lower(), "tz": tz, "team_id": TEAM_ID}

    def revoke_app_token(self, error: str = "invalid_auth") -> None:
        """The app-level token stops working (revoked, app uninstalled): apps.connections.open answers `error`."""
        self.app_token_error = error

    def fail_connections_open(self, *answers: FakeResponse) -> None:
        """apps.connections.open gives these answers to its next calls (a transient failure), then URLs again."""
        with self.lock:
            self.connections_open_failures.extend(answers)

    def args(self, request: FakeRequest) -> dict[str, Any]:
        """A method call's arguments (form or JSON body, or query)."""
        if request.header("content-type").startswith("application/json"):
            return dict(request.json() or {})
        return {**request.query, **request.form()}

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call of a Web API method, in order."""
        with self.lock:
            found = [r for r in self.requests if r.path == f"/api/{method}"]
        return [self.args(r) for r in found]

    def wait_for(self, method: str, count: int = 1, timeout: float = 90.0) -> list[dict[str, Any]]:
        """Wait until `method` was called `count` times (listeners run after the ack)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls(method)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{method} called {len(self.calls(method))} times, expected {count}")

    def responses(self) -> list[dict[str, Any]]:
        """Messages sent to response_url (slash command replies)."""
        return [r.json() for r in self.requests_to("POST", r"/response/.*")]

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _routes_setup(self) -> None:
        @self.route("GET", r"/api/(?P<method>[A-Za-z0-9_.]+)")
        @self.route("POST", r"/api/(?P<method>[A-Za-z0-9_.]+)")
        def method(request: FakeRequest) -> dict[str, Any] | FakeResponse:
            name = request.params["method"]
            if name == "oauth.v2.access":
                return self._oauth(self.args(request))
            if name == "apps.connections.open":
                return self._connections_open(request)
            if self.tokens.get(request.bearer() or "") is None:
                return {"ok": False, "error": "not_authed" if not request.bearer() else "invalid_auth"}
            handler = getattr(self, "m_" + name.replace(".", "_"), None)
            if handler is None:
                return {"ok": False, "error": "unknown_method"}
            result: dict[str, Any] = handler(self.args(request))
            return result

        @self.route("POST", r"/response/(?P<hook>[A-Za-z0-9_]+)")
        def response_url(request: FakeRequest) -> FakeResponse:
            return FakeResponse(200, "ok")

        @self.route("POST", r"/upload/(?P<file_id>F[A-Z0-9]+)")
        def upload(request: FakeRequest) -> FakeResponse:
            self.uploads[request.params["file_id"]] = request.body
            return FakeResponse(200, "OK - " + str(len(request.body)))

    def _oauth(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("code") != "good-code":
            return {"ok": False, "error": "invalid_code"}
        token = "xoxb-installed-" + TEAM_ID
        self.tokens[token] = TEAM_ID
        return {
            "ok": True,
            "app_id": "A0TEST",
            "access_token": token,
            "token_type": "bot",
            "scope": "chat:write,commands",
            "bot_user_id": BOT_USER,
            "team": {"id": TEAM_ID, "name": "Test team"},
            "enterprise": None,
            "authed_user": {"id": "U0ADMIN"},
            "is_enterprise_install": False,
        }

    def _connections_open(self, request: FakeRequest) -> dict[str, Any] | FakeResponse:
        """Only an app-level token (xapp-) opens a Socket Mode connection; the URL works once."""
        token = request.bearer() or ""
        if not token:
            return {"ok": False, "error": "not_authed"}
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        if token != APP_TOKEN:
            return {"ok": False, "error": "invalid_auth"}
        if self.app_token_error is not None:
            return {"ok": False, "error": self.app_token_error}
        with self.lock:
            failure = self.connections_open_failures.pop(0) if self.connections_open_failures else None
        if failure is not None:
            return failure
        if self.socket_mode is None:  # the test attached no Socket Mode server (the fake's own refusal)
            return {"ok": False, "error": "fake_has_no_socket_mode_server"}
        return {"ok": True, "url": self.socket_mode.url()}

    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": "Test team",
            "user": "ocma",
            "team_id": TEAM_ID,
            "user_id": BOT_USER,
            "bot_id": "B0BOT",
            "is_enterprise_install": False,
        }

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        return {
            "ok": True,
            "channel": args["channel"],
            "ts": ts,
            "message": {"type": "message", "text": args.get("text", ""), "ts": ts, "bot_id": "B0BOT"},
        }

    def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": args.get("channel"), "ts": args["ts"], "text": args.get("text", "")}

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = json.loads(args["view"]) if isinstance(args.get("view"), str) else args.get("view")
        return {"ok": True, "view": {"id": "V0TEST", **(view or {})}}

    def m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = json.loads(args["view"]) if isinstance(args.get("view"), str) else args.get("view")
        return {"ok": True, "view": {"id": "V0HOME", **(view or {})}}

    def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def m_assistant_threads_setStatus(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel_id") or not args.get("thread_ts") or "status" not in args:
            return {"ok": False, "error": "invalid_arguments"}  # all three are required ("" clears it)
        return {"ok": True}

    def m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not args.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self.uploads) + len(self.calls('files.getUploadURLExternal')):08d}"
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(args.get("files") or "[]")
        missing = [f["id"] for f in files if f["id"] not in self.uploads]
        if missing:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
