"""The sandbox's HTML pages. Post text, names and alt texts are untrusted: every value is escaped here."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from ocma_sandbox.feed import FeedPost, SandboxAccount

#: Sent with every page: no scripts at all, media only from this server.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
NOTICE = (
    "This is the OCMA sandbox: a practice feed kept on this OCMA server. Nothing here was posted to a real "
    "social network, nobody else reads it, and the sandbox produces no metrics."
)
STYLE = """
body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#222}
.badge{display:inline-block;background:#b45309;color:#fff;font-weight:700;letter-spacing:.08em;
padding:.15rem .5rem;border-radius:.25rem}
.notice{background:#fef3c7;border:1px solid #f59e0b;padding:.6rem .8rem;border-radius:.4rem}
article{border:1px solid #ddd;border-radius:.5rem;padding:.8rem 1rem;margin:1rem 0}
section+section{border-top:1px dashed #ccc;margin-top:.6rem;padding-top:.6rem}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
.meta{color:#666;font-size:.85rem}
img,video{max-width:100%;border-radius:.3rem;margin-top:.4rem}
"""

MediaUrl = Callable[[str], str | None]


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n"
        "<footer class='meta'><p>OCMA sandbox · a practice platform that needs no keys "
        "(plugins/platforms/sandbox)</p></footer>\n</body></html>\n"
    )


def _when(created_at: str) -> str:
    shown = created_at[:16].replace("T", " ") + " UTC"
    return f'<time datetime="{_e(created_at)}">{_e(shown)}</time>'


def _media(items: list[dict[str, object]], media_url: MediaUrl) -> str:
    html = []
    for item in items:
        url = media_url(str(item.get("media_id") or ""))
        alt = str(item.get("alt_text") or "")
        kind = str(item.get("mime_type") or "")
        if url is None:
            html.append(f"<p class='meta'>[{_e(kind or 'media')} no longer available]</p>")
        elif kind.startswith("video/"):
            html.append(f'<video controls preload="metadata" src="{_e(url)}" title="{_e(alt)}"></video>')
        else:
            html.append(f'<img src="{_e(url)}" alt="{_e(alt)}" loading="lazy">')
    return "".join(html)


def _thread(parts: list[FeedPost], media_url: MediaUrl) -> str:
    first = parts[0]
    label = f"thread · {len(parts)} parts" if len(parts) > 1 else "post"
    if first.position != 0:
        label += " (its first part was deleted)"
    sections = "".join(
        f'<section id="post-{_e(p.id)}"><div class="text">{_e(p.text)}</div>{_media(p.media, media_url)}'
        f"<p class='meta'>{_e('part ' + str(p.position + 1)) if len(parts) > 1 else ''}</p></section>"
        for p in parts
    )
    return (
        f'<article id="thread-{_e(first.root_id)}"><p class="meta"><span class="badge">SANDBOX</span> '
        f"{_e(label)} · {_when(first.created_at)}</p>{sections}</article>"
    )


def feed_page(
    account: SandboxAccount, threads: list[list[FeedPost]], media_url: MediaUrl, base: str = "/sandbox"
) -> str:
    """The feed of one sandbox account, newest thread first (`base`: the path the pages are served under)."""
    name = account.name
    if threads:
        posts = "\n".join(_thread(parts, media_url) for parts in threads)
    else:
        posts = (
            '<p>No posts yet. Publish one with <code>ocma posts create "Hello" -a ACCOUNT_ID --now</code> '
            "(the id <code>ocma accounts list</code> shows for this sandbox account).</p>"
        )
    body = (
        f'<header><p><span class="badge">SANDBOX</span></p><h1>@{_e(name)} · OCMA sandbox</h1>'
        f'<p class="notice">{_e(NOTICE)}</p>'
        f'<p class="meta"><a href="{_e(base)}/{_e(name)}.json">This feed as JSON</a> · '
        f'<a href="{_e(base)}">Every sandbox account</a></p></header>\n<main>\n{posts}\n</main>'
    )
    return _document(f"@{name} · OCMA sandbox", body)


def index_page(accounts: list[SandboxAccount], base: str = "/sandbox") -> str:
    """Every sandbox account on this server, with a link to its feed."""
    if accounts:
        items = "".join(f'<li><a href="{_e(base)}/{_e(a.name)}">@{_e(a.name)}</a></li>' for a in accounts)
        listing = f"<ul>{items}</ul>"
    else:
        listing = (
            "<p>No sandbox accounts yet. Connect one with <code>ocma accounts connect sandbox</code>.</p>"
        )
    body = (
        '<header><p><span class="badge">SANDBOX</span></p><h1>OCMA sandbox</h1>'
        f'<p class="notice">{_e(NOTICE)}</p></header>\n<main>{listing}</main>'
    )
    return _document("OCMA sandbox", body)


def missing_page(name: str) -> str:
    """The answer for a sandbox account that does not exist."""
    body = (
        '<header><p><span class="badge">SANDBOX</span></p><h1>No such sandbox account</h1></header>'
        f"<main><p>There is no sandbox account called <strong>{_e(name)}</strong> on this server.</p>"
        f"<p>Create it with <code>ocma accounts connect sandbox -f name={_e(name)}</code>.</p></main>"
    )
    return _document("No such sandbox account · OCMA sandbox", body)
