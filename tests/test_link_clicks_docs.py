"""docs/clicks.md's Python sender, run as written against OCMA (its httpx.post routed to the test's app)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from test_link_clicks import at, clicks_host, client  # noqa: F401

from ocma_core.clicks.secret import make_secret
from ocma_core.clicks.views import post_clicks
from ocma_core.context import Ocma
from ocma_core.services.post_input import PostInput
from ocma_core.services.posts import create_post

DOC = Path(__file__).parent.parent / "docs" / "clicks.md"


def test_the_documented_sender_delivers(ocma: Ocma, workspace_id: str, client: TestClient) -> None:  # noqa: F811
    [code] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    namespace: dict[str, Any] = {"__name__": "docs_clicks"}
    exec(compile(code, str(DOC), "exec"), namespace)

    class Routed:
        @staticmethod
        def post(url: str, **kw: Any) -> Any:
            kw.pop("timeout", None)
            return client.post(url.removeprefix(namespace["OCMA"]), **kw)

    namespace.update(httpx=Routed, SECRET=make_secret(ocma, workspace_id).secret, WORKSPACE=workspace_id)
    post_id = create_post(ocma, workspace_id, PostInput(body="Spring")).id
    link = f"https://shop.example/spring?utm_campaign=spring&utm_content={post_id}"
    answer = namespace["send_clicks"]([{"url": link, "occurred_at": at(), "count": 3}], "msg_doc")
    assert answer["clicks"] == 3 and answer["posts"] == [post_id]
    assert namespace["send_clicks"]([{"url": link, "occurred_at": at()}], "msg_doc")["duplicate"] is True
    assert post_clicks(ocma, workspace_id, post_id)["link_clicks"] == 3
