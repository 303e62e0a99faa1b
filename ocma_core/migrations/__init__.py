"""Alembic migrations of the OCMA schema."""
