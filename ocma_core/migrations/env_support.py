"""Options shared by the Alembic environment and the models-versus-migrations test."""

from __future__ import annotations

from typing import Any


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our enum columns as plain text (the enum lives in Python, not in the database)."""
    from ocma_core.db.types import StrEnum

    if type_ == "type" and isinstance(obj, StrEnum):
        return "sa.Text()"
    return False


def compare_type(
    context: Any, inspected: Any, metadata: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    """Treat our type decorators as their storage types when comparing."""
    from sqlalchemy import DateTime, Text

    from ocma_core.db.types import StrEnum, UTCDateTime

    if isinstance(metadata_type, StrEnum):
        return not isinstance(inspected_type, Text)
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, DateTime)
    return None


def compare_options() -> dict[str, Any]:
    """Options for autogenerate comparisons."""
    return {"compare_type": compare_type, "render_item": render_item, "render_as_batch": True}
