"""Pinterest's OpenAPI description (specs/pinterest/openapi-v5.json, vendored beside the tests) as request and
response validators for the fake.

OpenAPI 3.0 schemas become JSON Schema: `nullable: true` adds `null` to the allowed types, and a
`discriminator` with a `mapping` over a `oneOf` becomes if/then branches on the discriminating property (so a
media source is checked against exactly the schema its `source_type` names). Query parameters are parsed in
the form style Pinterest declares (`explode: false` arrays are comma-separated, booleans `true`/`false`).

One reading is not literal: a `oneOf` of enum lists that overlap (pins/analytics `metric_types` offers the
standard and the video metric names, both containing IMPRESSION, SAVE, ...) is read as `anyOf`. Taken
strictly no shared metric name would be valid, which is plainly not what the description means.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema


def spec_path() -> Path:
    """The vendored description ($OCMA_SPECS_DIR/pinterest/openapi-v5.json overrides it)."""
    base = os.environ.get("OCMA_SPECS_DIR")
    if base:
        return Path(base) / "pinterest" / "openapi-v5.json"
    return Path(__file__).resolve().parent / "specs" / "pinterest" / "openapi-v5.json"


def _discriminated(node: dict[str, Any]) -> dict[str, Any]:
    """A oneOf chosen by a discriminator property, as if/then branches (plus: the property must name one)."""
    discriminator = node.pop("discriminator")
    mapping = discriminator.get("mapping") or {}
    if "oneOf" not in node or not mapping:
        return node
    node.pop("oneOf")
    prop = discriminator["propertyName"]
    branches = [
        {"if": {"properties": {prop: {"const": key}}, "required": [prop]}, "then": {"$ref": ref}}
        for key, ref in mapping.items()
    ]
    branches.append({"properties": {prop: {"enum": list(mapping)}}, "required": [prop]})
    node["allOf"] = [*node.get("allOf", []), *branches]
    return node


def to_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema (tree) as JSON Schema 2020-12."""
    if isinstance(node, dict):
        out = {k: to_json_schema(v) for k, v in node.items() if k not in ("example", "examples")}
        if "discriminator" in out:
            out = _discriminated(out)
        if "oneOf" in out and all(isinstance(o, dict) and "enum" in o for o in out["oneOf"]):
            out["anyOf"] = out.pop("oneOf")  # overlapping enum lists: read as "one of these lists"
        if out.pop("nullable", False):
            if "type" in out:
                out["type"] = [out["type"], "null"]
            else:
                out = {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [to_json_schema(v) for v in node]
    return node


class SpecError(ValueError):
    """A request or response does not match Pinterest's OpenAPI description."""


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

    @property
    def category(self) -> str:
        """The rate-limit category Pinterest puts the operation in (x-ratelimit-category)."""
        return str(self.raw.get("x-ratelimit-category", ""))


class PinterestSpec:
    """Validators for the operations of Pinterest's OpenAPI description."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = to_json_schema(document["components"])

    @classmethod
    @functools.cache
    def load(cls) -> PinterestSpec:
        """The shared description (loaded once)."""
        path = spec_path()
        if not path.exists():
            raise FileNotFoundError(f"Pinterest OpenAPI description not found at {path}; set OCMA_SPECS_DIR.")
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @property
    def version(self) -> str:
        """The description's info.version."""
        return str(self.document["info"]["version"])

    def operation(self, method: str, path: str) -> Operation:
        """The operation at a templated path such as /pins/{pin_id}."""
        return Operation(method.upper(), path, self.document["paths"][path][method.lower()])

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            _, _, section, name = node["$ref"].split("/")
            node = self.document["components"][section][name]
        return node

    @functools.cached_property
    def _validator_class(self) -> Any:
        return jsonschema.Draft202012Validator

    def validate(self, schema: dict[str, Any], instance: Any, what: str) -> None:
        """Validate `instance` against an OpenAPI schema whose $refs point into the document."""
        root = {**to_json_schema(schema), "components": self.components}
        validator = self._validator_class(root, format_checker=self._validator_class.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(body)"
            raise SpecError(f"{what}: {where}: {first.message}")

    def parameters(self, op: Operation, where: str) -> dict[str, dict[str, Any]]:
        """The operation's parameters of one kind (query, path), by name."""
        found = {}
        for item in op.raw.get("parameters", []):
            param = self._resolve(item)
            if param.get("in") == where:
                found[param["name"]] = param
        return found

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

    def check_body(self, op: Operation, content_type: str, body: Any) -> None:
        """Validate a request body (JSON, or a form as its fields); a body where none is declared is refused."""
        body_declared = op.raw.get("requestBody") is not None
        if not body_declared:
            if body not in (None, {}):
                raise SpecError(f"{op.operation_id} takes no request body")
            return
        if body is None:
            if self._resolve(op.raw["requestBody"]).get("required"):
                raise SpecError(f"{op.operation_id} requires a request body")
            return
        schema = self.request_schema(op, content_type)
        assert schema is not None
        self.validate(schema, body, f"{op.operation_id} request")

    def _typed(self, schema: dict[str, Any], raw: str) -> Any:
        kind = self._resolve(schema).get("type")
        if kind == "array":
            return [self._typed(self._resolve(schema)["items"], part) for part in raw.split(",")]
        if kind == "integer":
            return int(raw) if raw.lstrip("-").isdigit() else raw
        if kind == "boolean":
            return {"true": True, "false": False}.get(raw, raw)
        return raw

    def check_params(self, op: Operation, where: str, given: dict[str, str]) -> dict[str, Any]:
        """Validate query or path parameters (unknown names are refused); returns the typed values."""
        params = self.parameters(op, where)
        parsed: dict[str, Any] = {}
        for name, raw in given.items():
            if name not in params:
                raise SpecError(
                    f"{op.operation_id}: unknown {where} parameter {name!r} (not one of {sorted(params)})"
                )
            schema = params[name]["schema"]
            value = self._typed(schema, raw)
            self.validate(schema, value, f"{op.operation_id} {where} parameter {name}")
            parsed[name] = value
        for name, param in params.items():
            if param.get("required") and name not in parsed:
                raise SpecError(f"{op.operation_id}: the {where} parameter {name!r} is required")
        return parsed

    def required_scopes(self, op: Operation) -> set[str] | None:
        """The user-token (pinterest_oauth2) scopes the operation declares; None when it uses Basic auth."""
        for option in op.raw.get("security", []):
            if "pinterest_oauth2" in option:
                return set(option["pinterest_oauth2"])
        return None

    # ----- responses -------------------------------------------------------------------------------
    def check_response(self, op: Operation, status: int, body: Any) -> str:
        """Validate a response body; returns the name of the schema it was checked against."""
        responses = op.raw["responses"]
        entry = responses.get(str(status)) or responses.get("default")
        if entry is None:
            raise SpecError(f"{op.operation_id} documents no {status} response")
        content = self._resolve(entry).get("content", {})
        if body is None:
            if content and status < 300 and status != 204:
                raise SpecError(f"{op.operation_id} {status} needs a body")
            return "no content"
        if "application/json" not in content:
            raise SpecError(f"{op.operation_id} {status} documents no JSON body")
        schema = content["application/json"]["schema"]
        self.validate(schema, body, f"{op.operation_id} {status} response")
        return str(schema.get("$ref", "inline schema")).rsplit("/", 1)[-1]
