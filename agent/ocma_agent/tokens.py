"""Counting tokens with a real tokenizer (tiktoken), offline: litellm ships the encoding files and points
TIKTOKEN_CACHE_DIR at them when it is imported."""

from __future__ import annotations

import json
import os
from typing import Any


def encoding(name: str = "cl100k_base") -> Any:
    """A tiktoken encoding loaded from litellm's bundled files (no download)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm.litellm_core_utils.default_encoding  # noqa: F401  (sets TIKTOKEN_CACHE_DIR)
    import tiktoken

    return tiktoken.get_encoding(name)


def schema_tokens(schemas: list[dict[str, Any]], name: str = "cl100k_base") -> int:
    """Tokens of the tool definitions as JSON (what the request carries), with `name`'s encoding."""
    enc = encoding(name)
    return sum(len(enc.encode(json.dumps(schema, ensure_ascii=False))) for schema in schemas)
