"""Storage: models, engine, migrations."""
