"""Lua scripts on Redis, sent as EVALSHA directly."""

from __future__ import annotations

from typing import Any


class LuaScript:
    """A Lua script run with EVALSHA, loaded again when Redis answers NOSCRIPT (a restart, SCRIPT FLUSH).

    redis-py's Script.__call__ checks its client against protocols on every call, which cost the publishing
    hot path more CPU than the call itself (py-spy); this keeps its load-on-NOSCRIPT behaviour only."""

    def __init__(self, client: Any, source: str) -> None:
        self.client = client
        self.script = client.register_script(source)

    def __call__(self, keys: list[str], args: list[Any]) -> Any:
        """Run the script on `keys` with `args`; its reply."""
        from redis.exceptions import NoScriptError

        try:
            return self.client.evalsha(self.script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return self.script(keys=keys, args=args, client=self.client)
