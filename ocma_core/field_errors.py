"""pydantic validation errors as problems a person can act on: the field, where it was, what is wrong, the fix."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# What to do about each kind of pydantic error, so a 422 always says how to correct the field.
_ERROR_FIXES = {
    "missing": "Add {field}.",
    "extra_forbidden": "Remove {field}: it is not a field of this request (see /openapi.json).",
    "string_too_long": "Shorten {field} to at most {max_length} characters.",
    "string_too_short": "Give {field} at least {min_length} character(s).",
    "too_long": "Send at most {max_length} item(s) in {field}.",
    "too_short": "Send at least {min_length} item(s) in {field}.",
    "greater_than_equal": "Use a value of at least {ge} for {field}.",
    "greater_than": "Use a value above {gt} for {field}.",
    "less_than_equal": "Use a value of at most {le} for {field}.",
    "less_than": "Use a value below {lt} for {field}.",
    "literal_error": "Use one of {expected} for {field}.",
    "enum": "Use one of {expected} for {field}.",
    "string_pattern_mismatch": "Make {field} match the pattern {pattern}.",
    "datetime_from_date_parsing": "Write {field} as an ISO 8601 time, e.g. 2030-01-31T09:00:00+01:00.",
    "datetime_parsing": "Write {field} as an ISO 8601 time, e.g. 2030-01-31T09:00:00+01:00.",
    "datetime_type": "Write {field} as an ISO 8601 time, e.g. 2030-01-31T09:00:00+01:00.",
    "json_invalid": "Send valid JSON (UTF-8) with Content-Type: application/json.",
    "model_attributes_type": "Send a JSON object.",
    "dict_type": "Send a JSON object in {field}.",
    "list_type": "Send a JSON array in {field}.",
    "string_type": "Send a string in {field}.",
    "int_parsing": "Send a whole number in {field}.",
    "int_type": "Send a whole number in {field}.",
    "float_parsing": "Send a number in {field}.",
    "bool_parsing": "Send true or false in {field}.",
    "string_unicode": "Send text as UTF-8.",
}


def field_problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """pydantic errors as {field, in, message, fix}; `field` keeps every name in the path, `body` included."""
    found = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        where = loc[0] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else ""
        path = loc[1:] if where else loc
        field = ".".join(path) or (where or "request")
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        template = _ERROR_FIXES.get(str(err.get("type")), "Correct {field} (the schema is at /openapi.json).")
        try:
            fix = template.format(field=field, **(err.get("ctx") or {}))
        except (KeyError, IndexError, ValueError):
            fix = f"Correct {field} (the schema is at /openapi.json)."
        found.append({"field": field, "in": where or "body", "message": message, "fix": fix})
    return found
