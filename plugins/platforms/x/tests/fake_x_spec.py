"""X's OpenAPI description (specs/x/openapi.json, vendored beside the tests) as request and response validators for the fake.

OpenAPI 3.0 schemas become JSON Schema: `nullable: true` adds `null` to the allowed types. Query parameters
are parsed as X's form style (`explode: false` arrays are comma-separated). Multipart bodies are checked as
their fields: file parts stand for the `format: binary` strings, text parts are coerced to the declared type.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

#: `tweet.fields` is the name X's docs and live API use; the 2026-08 description calls it `post.fields`
QUERY_ALIASES = {"tweet.fields": "post.fields"}

X_PROBLEM_PREFIX = "https://api.x.com/2/problems/"

#: RFC 7807 bodies X sends with `type: about:blank` (401, 403 duplicate, 429, 503) and usage-cap bodies,
#: seen in X's answers (GitHub issues quoted in the README) but not described by the OpenAPI document.
PLAIN_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "status": {"type": "integer"},
    },
}


def spec_path() -> Path:
    """The X OpenAPI file vendored beside the tests (specs/x/openapi.json; $OCMA_SPECS_DIR overrides)."""
    base = os.environ.get("OCMA_SPECS_DIR")
    if base:
        return Path(base) / "x" / "openapi.json"
    return Path(__file__).resolve().parent / "specs" / "x" / "openapi.json"


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items() if k not in ("discriminator", "example", "examples")}
        if out.pop("nullable", False):
            if "type" in out:
                out["type"] = [out["type"], "null"]
            else:
                out = {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


class SpecError(ValueError):
    """A request or response does not match the X OpenAPI description."""

    def __init__(self, message: str, parameter: str = "") -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class Operation:
    """One operation of the description."""

    method: str
    path: str
    raw: dict[str, Any]

    @property
    def operation_id(self) -> str:
        """The operationId."""
        return str(self.raw.get("operationId", ""))


class XSpec:
    """Validators for the operations of X's OpenAPI description."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = _nullable(document["components"])

    @classmethod
    @functools.cache
    def load(cls) -> XSpec:
        """The shared description (loaded once)."""
        path = spec_path()
        if not path.exists():
            raise FileNotFoundError(f"X OpenAPI description not found at {path}; set OCMA_SPECS_DIR.")
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def operation(self, method: str, path: str) -> Operation:
        """The operation at a templated path such as /2/tweets/{id}."""
        return Operation(method.upper(), path, self.document["paths"][path][method.lower()])

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            _, _, section, name = node["$ref"].split("/")
            node = self.components[section][name]
        return node

    def validate(self, schema: dict[str, Any], instance: Any, what: str) -> None:
        """Validate `instance` against an (OpenAPI) schema whose $refs point into the document."""
        root = {**_nullable(schema), "components": self.components}
        errors = sorted(
            jsonschema.Draft202012Validator(root).iter_errors(instance), key=lambda e: list(e.path)
        )
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(body)"
            raise SpecError(f"{what}: {where}: {first.message}", parameter=where)

    def schema_name(self, schema: dict[str, Any]) -> str:
        """The component name a schema refers to (for messages)."""
        return str(schema.get("$ref", "")).rsplit("/", 1)[-1]

    # ----- requests --------------------------------------------------------------------------------
    def request_schema(self, op: Operation, content_type: str) -> dict[str, Any] | None:
        """The request body schema for a media type, or None when the operation takes no body."""
        body = op.raw.get("requestBody")
        if body is None:
            return None
        content = self._resolve(body)["content"]
        if content_type not in content:
            raise SpecError(
                f"{op.operation_id} does not accept {content_type} (accepts {', '.join(content)})"
            )
        return dict(content[content_type]["schema"])

    def check_json_body(self, op: Operation, body: Any) -> None:
        """Validate a JSON request body."""
        schema = self.request_schema(op, "application/json")
        if schema is None:
            if body not in (None, b"", {}):
                raise SpecError(f"{op.operation_id} takes no request body")
            return
        self.validate(schema, body, f"{op.operation_id} request")

    def check_multipart(
        self, op: Operation, fields: dict[str, str], files: dict[str, bytes]
    ) -> dict[str, Any]:
        """Validate multipart form fields; returns the typed form (files as bytes)."""
        schema = self.request_schema(op, "multipart/form-data")
        assert schema is not None
        properties = self._resolve(dict(schema)).get("properties", {})
        typed: dict[str, Any] = {}
        for name, value in fields.items():
            kind = self._resolve(properties.get(name, {})).get("type")
            typed[name] = int(value) if kind == "integer" and value.lstrip("-").isdigit() else value
        check = dict(typed)
        check.update({name: f"<{len(data)} bytes>" for name, data in files.items()})
        self.validate(schema, check, f"{op.operation_id} multipart form")
        typed.update(files)
        return typed

    def check_query(self, op: Operation, query: dict[str, str]) -> dict[str, Any]:
        """Validate query parameters (unknown names included); returns parsed values by spec name."""
        params = {}
        for item in op.raw.get("parameters", []):
            param = self._resolve(item)
            if param.get("in") == "query":
                params[param["name"]] = param
        parsed: dict[str, Any] = {}
        for given, raw in query.items():
            name = QUERY_ALIASES.get(given, given) if given not in params else given
            if name not in params:
                allowed = ", ".join(
                    sorted(set(params) | {a for a, b in QUERY_ALIASES.items() if b in params})
                )
                raise SpecError(f"The query parameter [{given}] is not one of [{allowed}]", parameter=given)
            schema = _nullable(self._resolve(params[name]["schema"]))
            value: Any = raw
            kind = self._resolve(schema).get("type")
            if kind == "array":
                value = raw.split(",")
            elif kind == "integer":
                value = int(raw) if raw.lstrip("-").isdigit() else raw
            self.validate(schema, value, f"query parameter {given}")
            parsed[name] = value
        for name, param in params.items():
            if param.get("required") and name not in parsed:
                raise SpecError(f"The `{name}` query parameter can not be empty", parameter=name)
        return parsed

    def required_scopes(self, op: Operation) -> set[str]:
        """The OAuth 2.0 user-token scopes the operation declares."""
        for option in op.raw.get("security", []):
            if "OAuth2UserToken" in option:
                return set(option["OAuth2UserToken"])
        return set()

    # ----- responses -------------------------------------------------------------------------------
    def check_response(self, op: Operation, status: int, body: Any, content_type: str) -> str:
        """Validate a response body; returns the name of the schema it was checked against."""
        responses = op.raw["responses"]
        entry = responses.get(str(status)) or responses.get("default")
        if entry is None:
            raise SpecError(f"{op.operation_id} documents no {status} response")
        content = self._resolve(entry).get("content", {})
        media = content_type.split(";")[0].strip()
        x_problem = isinstance(body, dict) and str(body.get("type", "")).startswith(X_PROBLEM_PREFIX)
        if status >= 400 and isinstance(body, dict) and "type" in body and not x_problem:
            self.validate(PLAIN_PROBLEM_SCHEMA, body, f"{op.operation_id} {status} problem")
            return "RFC 7807 problem (about:blank / undocumented type)"
        if media not in content:
            raise SpecError(f"{op.operation_id} {status} is not documented as {media}")
        schema = copy.deepcopy(content[media]["schema"])
        self.validate(schema, body, f"{op.operation_id} {status} response")
        return self.schema_name(schema) or "inline schema"
