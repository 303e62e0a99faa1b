"""Tools are typed Python functions: the JSON schema the model sees comes from type hints and docstrings.

One place to write a tool (like simonw/llm's `Tool.function` and pydantic-ai's function schemas):

```python
@tool(effect="public")
def schedule_post(ctx: ToolContext, post_id: str, when: str) -> dict[str, Any]:
    \"\"\"Schedule a post.

    Args:
        post_id: The post to schedule.
        when: ISO time in the workspace's timezone, "next_slot" or "best_time".
    \"\"\"
```

The first docstring paragraph is the tool's description; `Args:` lines describe parameters. A parameter
annotated `ToolContext` (or `Ocma` or `Caller`, or named `workspace_id`) is filled in at call time and never
shown to the model. `effect` says what a call can do: "read", "create" (only adds new things: drafts, media,
plans), "write" (changes what exists in OCMA) or "public" (reaches an audience: schedule, publish, retry, delete;
the approval policy applies). `untrusted=True` marks tools whose results carry text from outside (web pages,
comments, files): see `ocma_agent.policy`. `action` is the permission (ocma_core.permissions.Action) a caller's
role needs for the tool; every surface (chat, API, MCP, Slack) checks it before the call.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ocma_core.permissions import Action

Effect = Literal["read", "create", "write", "public"]
EFFECTS = ("read", "create", "write", "public")
# A tool that names no action needs the generic one for its effect.
DEFAULT_ACTIONS = {
    "read": Action.TOOLS_READ,
    "create": Action.TOOLS_WRITE,
    "write": Action.TOOLS_WRITE,
    "public": Action.TOOLS_PUBLIC,
}
_ARGS = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_PARAM = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?:\s*(.*)$")
_SECTION = re.compile(r"^\s*(Returns|Raises|Yields|Examples?|Notes?):\s*$")


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the tool's schema; the message lists each problem."""


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The description (text before any section) and the `Args:` descriptions of a Google-style docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    current: str | None = None
    in_args = False
    for line in lines:
        if _ARGS.match(line):
            in_args, current = True, None
            continue
        if _SECTION.match(line):
            in_args, current = False, None
            continue
        if in_args:
            indent = len(line) - len(line.lstrip())
            match = _PARAM.match(line.strip())
            if match and 0 < indent <= 4:
                current = match.group(1).lstrip("*")
                params[current] = match.group(2).strip()
            elif current and line.strip():
                params[current] = f"{params[current]} {line.strip()}"
            continue
        if current is None and not params:
            description.append(line)
    text = " ".join(part.strip() for part in "\n".join(description).strip().split("\n") if part.strip())
    return text, params


def _compact(schema: Any) -> Any:
    """Drop titles and `default: null`, and turn `X | None` into X: fewer tokens, same meaning to the model."""
    if isinstance(schema, list):
        return [_compact(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        out[key] = _compact(value) if key != "properties" else {k: _compact(v) for k, v in value.items()}
    any_of = out.get("anyOf")
    if isinstance(any_of, list):
        rest = [s for s in any_of if s != {"type": "null"}]
        if len(rest) == 1 and len(rest) < len(any_of):
            out.pop("anyOf")
            out = {**rest[0], **out}
    return out


@dataclass
class Tool:
    """A function the model can call, with its JSON schema and what a call can do."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any]
    arguments_model: type[BaseModel]
    injected: dict[str, str] = field(
        default_factory=dict
    )  # parameter name -> "context" | "ocma" | "workspace" | "caller"
    effect: Effect = "read"
    untrusted: bool = False
    plugin: str = "ocma_agent"
    action: Action = Action.TOOLS_READ

    @property
    def is_async(self) -> bool:
        """True for `async def` tools."""
        return inspect.iscoroutinefunction(self.function)

    def schema(self) -> dict[str, Any]:
        """The OpenAI/litellm tool definition."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Check the model's arguments against the schema; ToolArgumentsError says what to fix."""
        try:
            parsed = self.arguments_model.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise ToolArgumentsError(f"Invalid arguments for {self.name}: {problems}.") from None
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}

    async def invoke(self, injected: dict[str, Any], arguments: dict[str, Any]) -> Any:
        """Run the tool with validated arguments; synchronous tools run in a worker thread."""
        kwargs = {**arguments, **{name: injected[kind] for name, kind in self.injected.items()}}
        if self.is_async:
            return await self.function(**kwargs)
        return await asyncio.to_thread(self.function, **kwargs)

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        effect: Effect | None = None,
        untrusted: bool | None = None,
        plugin: str = "ocma_agent",
        action: Action | str | None = None,
    ) -> Tool:
        """Build a tool from a typed, documented function (attributes `ocma_effect`, `ocma_untrusted` and
        `ocma_action` count)."""
        chosen_effect = effect or getattr(function, "ocma_effect", "read")
        if chosen_effect not in EFFECTS:
            raise TypeError(f"{function.__name__}: effect must be one of {EFFECTS}, got {chosen_effect!r}")
        chosen_action = action or getattr(function, "ocma_action", None) or DEFAULT_ACTIONS[chosen_effect]
        try:
            permission = Action(chosen_action)
        except ValueError:
            raise TypeError(
                f"{function.__name__}: unknown action {chosen_action!r}; one of {', '.join(Action)}"
            ) from None
        summary, param_docs = parse_docstring(function.__doc__)
        if not (description or summary):
            raise TypeError(f"Tool {function.__name__} needs a docstring: it is the model's description.")
        hints = typing.get_type_hints(function, include_extras=True)
        fields: dict[str, Any] = {}
        injected: dict[str, str] = {}
        for param in inspect.signature(function).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"Tool {function.__name__}: *args/**kwargs cannot become a schema")
            annotation = hints.get(param.name, str)
            kind = _injected_kind(param.name, annotation)
            if kind:
                injected[param.name] = kind
                continue
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (annotation, Field(default=default, description=param_docs.get(param.name)))
        model = create_model(
            f"{function.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
        parameters = _compact(model.model_json_schema())
        parameters.pop("additionalProperties", None)
        parameters.setdefault("properties", {})
        return cls(
            name=name or function.__name__,
            description=description or summary,
            parameters=parameters,
            function=function,
            arguments_model=model,
            injected=injected,
            effect=chosen_effect,
            untrusted=bool(getattr(function, "ocma_untrusted", False) if untrusted is None else untrusted),
            plugin=plugin,
            action=permission,
        )


def _injected_kind(name: str, annotation: Any) -> str | None:
    """Which value the agent fills in for this parameter (None: the model provides it)."""
    target = getattr(annotation, "__name__", "") or str(annotation)
    if target == "ToolContext":
        return "context"
    if target == "Ocma":
        return "ocma"
    if target == "Caller":
        return "caller"
    if name == "workspace_id":
        return "workspace"
    return None


def tool(
    effect: Effect = "read",
    *,
    untrusted: bool = False,
    name: str | None = None,
    action: Action | str | None = None,
) -> Callable[[Callable[..., Any]], Tool]:
    """Decorator: turn a typed, documented function into a Tool."""

    def decorate(function: Callable[..., Any]) -> Tool:
        return Tool.from_function(function, name=name, effect=effect, untrusted=untrusted, action=action)

    return decorate
