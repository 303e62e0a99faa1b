"""The OpenAPI document as a contract: every error response is application/problem+json with its real shape,
and each operation lists the statuses it can answer (401/403 from its key requirement, 404 for ids, 422 for
input, 413 for bodies, 500 everywhere; the rest declared on the route with `errors(...)`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Header
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from ocma_core.etags import IF_MATCH_PATTERN

PROBLEM = "application/problem+json"

DESCRIPTIONS = {
    400: "The request cannot be processed as sent.",
    401: "No API key, or an invalid or revoked one.",
    402: "The workspace's AI budget is spent.",
    403: "The key's role does not allow this.",
    404: "No such resource in the key's workspace.",
    409: "The resource's current state does not allow this.",
    412: "The If-Match version is stale: read the resource again, redo the change and send its new ETag.",
    413: "The request body is larger than this route accepts.",
    422: "The input is invalid; `problems` names each field and how to fix it.",
    429: "A platform or AI provider is rate limiting; Retry-After says when to try again.",
    500: "An unexpected error; report the `request_id`.",
    502: "A platform or AI provider could not be reached or failed; the detail names the error.",
    503: "A service OCMA depends on (media store, AI configuration, database, worker) is unavailable.",
}


class FieldProblem(BaseModel):
    """One thing wrong with the input."""

    field: str = Field(description="The field's name (dotted path for nested fields).")
    message: str
    fix: str | None = None


class Problem(BaseModel):
    """An error (RFC 9457 problem details) that says what went wrong and how to fix it."""

    type: str = Field(
        "about:blank", description="Always about:blank: `title` and `status` carry the meaning."
    )
    title: str
    status: int
    detail: str
    fix: str | None = Field(None, description="What to do about it.")
    request_id: str | None = Field(None, description="Quote it when reporting a problem (also X-Request-ID).")
    problems: list[FieldProblem] | None = Field(None, description="For 422: each field and its problem.")


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route for the error statuses it answers besides the ones inferred."""
    return {code: {"model": Problem, "description": DESCRIPTIONS[code]} for code in codes}


def if_match_header(description: str) -> Any:
    """A route's optional `If-Match` header parameter (`*` or quoted tags), described as `description`."""
    return Header(None, alias="If-Match", pattern=IF_MATCH_PATTERN, description=description)


def _api_routes(app: FastAPI) -> list[Any]:
    """Every API route with its effective path (FastAPI >= 0.160 keeps included routers unflattened)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are plain APIRoutes on the app
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]


def _required_role(route: Any) -> str | None:
    """The role the route's key dependency requires (None: no key needed)."""
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        role = getattr(dep.call, "ocma_role", None)
        if role is not None:
            return str(role)
        pending.extend(dep.dependencies)
    return None


def _inferred(route: Any) -> set[int]:
    codes = {500}
    role = _required_role(route)
    if role is not None:
        codes.add(401)
        if role != "viewer":
            codes.add(403)
    if route.dependant.path_params:
        codes.add(404)
    if route.dependant.path_params or route.dependant.query_params or route.dependant.body_params:
        codes.add(422)
    if route.dependant.body_params:
        codes.add(413)
    return codes


def _problem_content() -> dict[str, Any]:
    return {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every error documented as problem+json."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components["FieldProblem"] = components["Problem"].pop("$defs")["FieldProblem"]
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for code in _inferred(route):
                responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
            for code, response in responses.items():
                if response.pop("x-not-problem", False):
                    continue  # the route answers this status with its own body (e.g. /readyz's checks)
                if code.isdigit() and int(code) >= 400:
                    response["content"] = _problem_content()
                    response["description"] = DESCRIPTIONS.get(int(code), response.get("description", ""))
    _add_links(schema)
    return schema


# A response that returns one of these resources links to every operation taking its id in the path, so a
# client (and a stateful fuzzer) can follow "create a post" to "approve that post".
RESOURCE_IDS = {
    "PostOut": "post_id",
    "AccountOut": "account_id",
    "ExperimentOut": "experiment_id",
    "MediaOut": "media_id",
    "CompetitorOut": "competitor_id",
}


def _add_links(schema: dict[str, Any]) -> None:
    by_param: dict[str, list[str]] = {}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for param in RESOURCE_IDS.values():
                if "{" + param + "}" in path and "operationId" in operation:
                    by_param.setdefault(param, []).append(operation["operationId"])
    for operations in schema["paths"].values():
        for operation in operations.values():
            for code in ("200", "201"):
                content = operation.get("responses", {}).get(code, {}).get("content", {})
                ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
                wanted = RESOURCE_IDS.get(ref.rsplit("/", 1)[-1])
                if wanted is None:
                    continue
                operation["responses"][code]["links"] = {
                    target: {"operationId": target, "parameters": {wanted: "$response.body#/id"}}
                    for target in by_param.get(wanted, [])
                    if target != operation.get("operationId")
                }


def install_openapi(app: FastAPI) -> None:
    """Serve build_openapi's document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at `path` (Starlette's 405 names only the first route's)."""
    from starlette.routing import compile_path

    compiled = getattr(app.state, "ocma_route_regexes", None)
    if compiled is None:
        compiled = [
            (compile_path(r.path)[0], r.path.count("{"), set(r.methods or ())) for r in _api_routes(app)
        ]
        app.state.ocma_route_regexes = compiled
    matching = [(params, methods) for regex, params, methods in compiled if regex.match(path)]
    if not matching:
        return []
    # /v1/posts/check is its own resource, though /v1/posts/{post_id} also matches it: the most literal wins.
    fewest = min(params for params, _ in matching)
    methods = set().union(*(m for params, m in matching if params == fewest))
    return sorted(methods - {"HEAD"}) if methods - {"HEAD"} else sorted(methods)
