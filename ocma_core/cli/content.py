"""`ocma content` (generate, adapt, optimize, score, prompt), `ocma image` and `ocma ai` (settings, keys, usage).

Nothing heavy is imported at module level: the AI library loads only when a command calls a model.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from ocma_core.cli.common import (
    context,
    emit_record,
    examples,
    json_option,
    print_json,
    workspace_id,
    workspace_option,
)


def _platforms(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def _ai_line(ai: dict[str, Any] | None) -> str:
    if not ai:
        return "AI: not used."
    cost = f"${ai['cost_usd']:.6f}" if ai["calls"] > ai["cached_calls"] else "$0 (all from cache)"
    unknown = (
        f", {ai['calls_with_unknown_cost']} of unknown cost" if ai.get("calls_with_unknown_cost") else ""
    )
    sources = f" ({', '.join(ai['cost_sources'])})" if ai.get("cost_sources") else ""
    return (
        f"AI: {ai['model']}, {ai['calls']} call(s), {ai['cached_calls']} from cache, {cost}{unknown}{sources}"
    )


def _print_draft(draft: dict[str, Any]) -> None:
    verdict = "OK" if draft["ok"] else "NOT VALID"
    tries = f", after {draft['attempts']} attempts" if draft["attempts"] > 1 else ""
    click.echo(
        f"\n== {draft['platform']}: {draft['length']}/{draft['limit']} {draft['unit']} - {verdict}{tries}"
    )
    click.echo(draft["text"])
    for index, part in enumerate(draft["thread"], 1):
        click.echo(f"  [{index}] {part}")
    for problem in draft["problems"]:
        click.echo(f"  ! {problem['message']}")
    for note in draft["notes"]:
        click.echo(f"  (note) {note['message']}")


def _finish(drafts: list[dict[str, Any]]) -> None:
    bad = [d["platform"] for d in drafts if not d["ok"]]
    if bad:
        click.echo(f"Not publishable as is on: {', '.join(bad)} (see the problems above).", err=True)
        sys.exit(1)


@click.group()
def content() -> None:
    """Generate, adapt, optimise and score posts with the workspace's AI model."""


@examples(
    'ocma content generate "We open a shop in Leipzig on Saturday" -p x,linkedin',
    'ocma content generate "Spring sale, 20% off" -p bluesky --variations 0 --json',
)
@content.command("generate")
@workspace_option
@click.argument("brief")
@click.option("--platforms", "-p", required=True, help="Comma-separated platforms, e.g. x,linkedin.")
@click.option(
    "--variations",
    default=2,
    show_default=True,
    type=click.IntRange(0, 5),
    help="How many alternative wordings to suggest too.",
)
@click.option("--instructions", default="", help="Extra instructions for the model.")
@json_option
def generate_cmd(
    workspace: str | None, brief: str, platforms: str, variations: int, instructions: str, as_json: bool
) -> None:
    """Turn BRIEF into a validated draft per platform (plus title, variations and hashtags)."""
    from ocma_core.content.generate import generate

    ocma = context()
    result = asyncio.run(
        generate(
            ocma,
            workspace_id(ocma, workspace),
            brief,
            _platforms(platforms),
            variations=variations,
            instructions=instructions,
        )
    ).as_dict()
    if as_json:
        print_json(result)
    else:
        click.echo(f"Title: {result['title']}\n\n{result['main_content']}")
        for index, text in enumerate(result["variations"], 1):
            click.echo(f"\nVariation {index}: {text}")
        if result["hashtags"]:
            click.echo(f"\nHashtags: {' '.join(result['hashtags'])}")
        for draft in result["drafts"]:
            _print_draft(draft)
        click.echo("\n" + _ai_line(result["ai"]))
    _finish(result["drafts"])


@examples('ocma content adapt "Our new release is out: faster sync and dark mode." -p x,mastodon')
@content.command("adapt")
@workspace_option
@click.argument("text")
@click.option("--platforms", "-p", required=True, help="Comma-separated platforms, e.g. x,mastodon.")
@json_option
def adapt_cmd(workspace: str | None, text: str, platforms: str, as_json: bool) -> None:
    """Rewrite TEXT for each platform, each draft validated by the platform plugin."""
    from ocma_core.content.adapt import adapt

    ocma = context()
    result = asyncio.run(adapt(ocma, workspace_id(ocma, workspace), text, _platforms(platforms))).as_dict()
    if as_json:
        print_json(result)
    else:
        for draft in result["drafts"]:
            _print_draft(draft)
        click.echo("\n" + _ai_line(result["ai"]))
    _finish(result["drafts"])


@examples('ocma content optimize "Try our app" -p linkedin -o clicks --alternatives 2')
@content.command("optimize")
@workspace_option
@click.argument("text")
@click.option("--platform", "-p", required=True, help="Platform to write for, e.g. linkedin.")
@click.option(
    "--objective",
    "-o",
    required=True,
    type=click.Choice(["engagement", "reach", "clicks", "awareness"]),
    help="What the post should achieve.",
)
@click.option(
    "--alternatives",
    default=3,
    show_default=True,
    type=click.IntRange(0, 5),
    help="A/B alternatives to write besides the optimised version.",
)
@json_option
def optimize_cmd(
    workspace: str | None, text: str, platform: str, objective: str, alternatives: int, as_json: bool
) -> None:
    """An optimised version of TEXT and A/B alternatives for an objective."""
    from ocma_core.content.optimize import optimize

    ocma = context()
    result = asyncio.run(
        optimize(ocma, workspace_id(ocma, workspace), text, platform, objective, alternatives=alternatives)
    ).as_dict()
    if as_json:
        print_json(result)
        return
    for version in result["versions"]:
        click.echo(f"\n[{version['variant']}] {version['label']}: {version['rationale']}")
        _print_draft(version["draft"])
        changed = {k: v for k, v in version["changes"].items() if v and k != "how"}
        if changed:
            click.echo("  changes: " + "; ".join(f"{k}: {v}" for k, v in changed.items()))
    click.echo("\n" + _ai_line(result["ai"]))


@examples(
    'ocma content score "Big news today!" -p x --no-judge',
    'ocma content score "New menu" -p x --media --json',
)
@content.command("score")
@workspace_option
@click.argument("text")
@click.option("--platform", "-p", required=True, help="Platform to measure for, e.g. x.")
@click.option("--media", "has_media", is_flag=True, help="The post will carry an image or video.")
@click.option("--no-judge", is_flag=True, help="Only the computed measures (no model call).")
@json_option
def score_cmd(
    workspace: str | None, text: str, platform: str, has_media: bool, no_judge: bool, as_json: bool
) -> None:
    """Measures of TEXT on a platform, each labelled computed or model-judged."""
    from ocma_core.content.score import score

    ocma = context()
    result = asyncio.run(
        score(ocma, workspace_id(ocma, workspace), text, platform, has_media=has_media, judge=not no_judge)
    ).as_dict()
    if as_json:
        print_json(result)
        return
    for m in result["measures"]:
        reason = m["detail"].get("reason") if m["method"] == "model" else ""
        click.echo(
            f"{m['name']:<18} {m['value']!s:<8} [{m['method']}] {m['how']}"
            + (f" - {reason}" if reason else "")
        )
    click.echo(result["note"])
    click.echo(_ai_line(result["ai"]))


@examples(
    "ocma content prompt generate",
    'ocma content prompt platform/x --set "Short sentences. No hashtags."',
    "ocma content prompt platform/x --reset",
)
@content.command("prompt")
@workspace_option
@click.argument("name")
@click.option(
    "--set", "new_text", default=None, help="Override the template for this workspace ('-' reads stdin)."
)
@click.option("--reset", is_flag=True, help="Remove the workspace's override.")
def prompt_cmd(workspace: str | None, name: str, new_text: str | None, reset: bool) -> None:
    """Show (or override) prompt template NAME, e.g. generate, adapt, platform/x, objective/clicks."""
    from ocma_core.ai.settings import load_config
    from ocma_core.content.prompts import load, set_prompt

    ocma = context()
    ws = workspace_id(ocma, workspace)
    if reset or new_text is not None:
        set_prompt(ocma, ws, name, None if reset else (sys.stdin.read() if new_text == "-" else new_text))
    found = load(ocma, load_config(ocma, ws), name)
    click.echo(f"# {found.name} ({found.source})\n{found.text}")


@examples(
    'ocma image "A sunrise over a coffee cup, flat illustration" -p instagram --alt "Coffee at sunrise"',
    'ocma image "Product shot on white" --aspect 16:9 --provider openai-images --json',
)
@click.command("image")
@workspace_option
@click.argument("prompt")
@click.option("--platform", "-p", default=None, help="Size the image for this platform's aspect ratio.")
@click.option("--aspect", default=None, help="Aspect ratio WIDTH:HEIGHT (overrides the platform's).")
@click.option("--provider", default=None, help="openai-images, stability, runware, ...")
@click.option("--model", default=None, help="The provider's model (default: the workspace's image model).")
@click.option("--alt", "alt_text", default="", help="Alt text stored with the image.")
@json_option
def image(
    workspace: str | None,
    prompt: str,
    platform: str | None,
    aspect: str | None,
    provider: str | None,
    model: str | None,
    alt_text: str,
    as_json: bool,
) -> None:
    """Generate an image from PROMPT and store it in the media store."""
    from ocma_core.ai.service import generate_image
    from ocma_core.services.media import public_media_url

    ocma = context()
    made = asyncio.run(
        generate_image(
            ocma,
            workspace_id(ocma, workspace),
            prompt,
            platform=platform,
            aspect_ratio=aspect,
            provider_name=provider,
            model=model,
            alt_text=alt_text,
        )
    )
    rows = [
        {
            "id": m.id,
            "mime_type": m.mime_type,
            "width": m.width,
            "height": m.height,
            "size": m.size,
            "url": public_media_url(ocma, m),
        }
        for m in made.media
    ]
    summary = {
        "media": rows,
        "provider": made.provider,
        "model": made.result.model,
        "platform": platform,
        "aspect_ratio": made.aspect_ratio,
        "size": made.size,
        "cost_usd": made.result.cost_usd,
        "cost_source": made.result.cost_source,
        "problems": made.problems,
    }
    if as_json:
        print_json(summary)
        return
    cost = "unknown" if made.result.cost_usd is None else f"${made.result.cost_usd:.4f}"
    for row in rows:
        click.echo(
            f"Stored media {row['id']}: {row['width']}x{row['height']} {row['mime_type']}, {row['size']} bytes"
        )
        click.echo(f"  {row['url']}")
    click.echo(
        f"{made.provider} {made.result.model} at {made.aspect_ratio} ({made.size}); cost {cost} "
        f"({made.result.cost_source})."
    )
    for problem in made.problems:
        click.echo(f"  ! {platform}: {problem['message']}", err=True)


@click.group()
def ai() -> None:
    """AI settings of a workspace: model, budgets, keys, prices, usage."""


@examples("ocma ai show", "ocma ai show --json")
@ai.command("show")
@workspace_option
@json_option
def ai_show(workspace: str | None, as_json: bool) -> None:
    """The workspace's AI settings (key names only) and what is in force."""
    from ocma_core.ai.settings import settings_view

    ocma = context()
    emit_record(settings_view(ocma, workspace_id(ocma, workspace)), as_json=as_json)


@examples(
    "ocma ai set --model openai/gpt-4o-mini --daily 2 --monthly 30",
    "ocma ai set --fallback anthropic/claude-3-5-haiku-latest --clear cache_ttl_s",
)
@ai.command("set")
@workspace_option
@click.option("--model", default=None, help="A litellm model string, e.g. openai/gpt-4o-mini.")
@click.option("--api-base", default=None, help="Base URL of an OpenAI-compatible server or proxy.")
@click.option("--fallback", "fallbacks", multiple=True, help="A fallback model (repeat).")
@click.option("--timeout", "timeout_s", type=float, default=None, help="Seconds a model call may take.")
@click.option("--retries", "max_retries", type=int, default=None, help="Retries of a failed model call.")
@click.option("--image-provider", default=None, help="Image provider, e.g. openai-images, stability.")
@click.option("--image-model", default=None, help="The image provider's model.")
@click.option("--daily", "daily_budget_usd", type=float, default=None, help="Daily budget in USD.")
@click.option("--monthly", "monthly_budget_usd", type=float, default=None, help="Monthly budget in USD.")
@click.option(
    "--cache-ttl", "cache_ttl_s", type=int, default=None, help="Response cache TTL in seconds (0: off)."
)
@click.option("--brand-voice", default=None, help="How the team writes; every prompt includes it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts and jq).")
@click.option("--clear", "clear", multiple=True, help="Reset a field to its default (repeat).")
def ai_set(
    workspace: str | None,
    fallbacks: tuple[str, ...],
    brand_voice: str | None,
    as_json: bool,
    clear: tuple[str, ...],
    **fields: Any,
) -> None:
    """Change AI settings of the workspace."""
    from ocma_core.ai.settings import update_ai_settings

    changes: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if fallbacks:
        changes["fallback_models"] = list(fallbacks)
    changes.update({name: None for name in clear})
    ocma = context()
    shown = update_ai_settings(ocma, workspace_id(ocma, workspace), changes, brand_voice=brand_voice)
    emit_record(shown, as_json=as_json, title="AI settings saved:")


@examples("ocma ai key openai  # asks for the key", "ocma ai key anthropic --remove")
@ai.command("key")
@workspace_option
@click.argument("vendor")
@click.option("--remove", is_flag=True, help="Remove the stored key.")
def ai_key(workspace: str | None, vendor: str, remove: bool) -> None:
    """Store VENDOR's API key for the workspace, encrypted (read from a hidden prompt or stdin)."""
    from ocma_core.ai.settings import set_key

    ocma = context()
    ws = workspace_id(ocma, workspace)
    if remove:
        set_key(ocma, ws, vendor, None)
        click.echo(f"Removed the workspace's {vendor} key.")
        return
    secret = (
        sys.stdin.readline().strip()
        if not sys.stdin.isatty()
        else click.prompt(f"{vendor} API key", hide_input=True)
    )
    set_key(ocma, ws, vendor, secret)
    click.echo(f"Stored the workspace's {vendor} key (encrypted).")


@examples(
    "ocma ai price openai/acme-7b --input-per-token 1e-7 --output-per-token 3e-7",
    "ocma ai price openai-images/dall-e-3 --per-image 0.04",
)
@ai.command("price")
@workspace_option
@click.argument("model")
@click.option("--input-per-token", type=float, default=None, help="USD per prompt token.")
@click.option("--output-per-token", type=float, default=None, help="USD per completion token.")
@click.option("--per-image", type=float, default=None, help="USD per generated image.")
@json_option
def ai_price(workspace: str | None, model: str, as_json: bool, **price: float | None) -> None:
    """Set the USD price of MODEL (for models the price table does not know, or negotiated prices)."""
    from ocma_core.ai.settings import load_config, update_ai_settings

    given = {k: v for k, v in price.items() if v is not None}
    if not given:
        raise click.UsageError("Give --input-per-token/--output-per-token or --per-image.")
    ocma = context()
    ws = workspace_id(ocma, workspace)
    prices = {
        m: {k: v for k, v in vars(p).items() if v is not None}
        for m, p in load_config(ocma, ws).prices.items()
    }
    prices[model] = given
    emit_record(update_ai_settings(ocma, ws, {"prices": prices}), as_json=as_json, title="AI settings saved:")


@examples("ocma ai usage", "ocma ai usage --json")
@ai.command("usage")
@workspace_option
@json_option
def ai_usage(workspace: str | None, as_json: bool) -> None:
    """AI spend today and this month against the budgets."""
    from ocma_core.ai.settings import load_config
    from ocma_core.ai.usage import usage_summary

    ocma = context()
    summary = usage_summary(ocma, load_config(ocma, workspace_id(ocma, workspace)))
    if as_json:
        print_json(summary)
        return
    budgets = summary["budgets"]
    for label, key, budget in (("Today", "today", "daily_usd"), ("This month", "this_month", "monthly_usd")):
        row = summary[key]
        limit = f" of ${budgets[budget]:.2f}" if budgets[budget] is not None else " (no budget)"
        click.echo(
            f"{label}: ${row['cost_usd']:.4f}{limit}, {row['calls']} calls, "
            f"{row['prompt_tokens']}+{row['completion_tokens']} tokens"
        )
