"""ocma backup / ocma restore: backup -> wipe -> restore returns every row and media file (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import shutil
import tarfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_fixtures import Run, cli_run  # noqa: F401
from sqlalchemy import text
from sqlmodel import col, select
from test_media import png
from tests_support import publish_and_wait

from ocma_core.backup import create_backup, read_manifest, restore_backup
from ocma_core.backup.portable import tables
from ocma_core.context import Ocma
from ocma_core.db.engine import dispose_engines
from ocma_core.db.models import Target
from ocma_core.db.types import utcnow
from ocma_core.errors import ConfigError
from ocma_core.services import metrics
from ocma_core.services.media import store_media


def everything(ocma: Ocma) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, ordered by primary key (values as the models read them)."""
    out: dict[str, list[dict[str, Any]]] = {}
    with ocma.engine.connect() as conn:
        for table in tables():
            rows = conn.execute(table.select().order_by(*table.primary_key.columns)).mappings()
            out[table.name] = [dict(r) for r in rows]
    return out


@pytest.fixture
def populated(ocma: Ocma, workspace_id: str, account_id: str, fake: Any) -> Ocma:
    """A workspace with an account, published posts with an image, and post and account metrics."""
    image = store_media(ocma, workspace_id, png(8, 5), filename="team.png", alt_text="Our team")
    for text_ in ("Launch day", "Second post"):
        publish_and_wait(ocma, workspace_id, [account_id], text_)
    with ocma.session() as session:
        for target in session.exec(select(Target)).all():
            target.published_at = utcnow() - timedelta(days=2)  # so its metrics are due now
            session.add(target)
        first = session.exec(select(Target).order_by(col(Target.id))).first()
    assert first is not None and first.external_id
    fake.set_metrics(first.external_id, likes=12, reposts=3, replies=2, impressions=900)
    fake.set_followers(1234)
    assert asyncio.run(metrics.collect_due(ocma, 50)) == 3
    assert image.storage_key
    return ocma


def wipe(ocma: Ocma) -> None:
    """Lose the database and the media directory."""
    dispose_engines()
    if ocma.settings.is_sqlite:
        db = Path(ocma.engine.url.database or "")
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            path.unlink(missing_ok=True)
    else:
        with ocma.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    dispose_engines()
    shutil.rmtree(ocma.settings.data_dir / "media")


@pytest.mark.parametrize("db_format", ["native", "portable"])
def test_backup_wipe_restore_returns_everything(populated: Ocma, tmp_path: Path, db_format: str) -> None:
    ocma = populated
    before = everything(ocma)
    assert (
        before["post"]
        and before["account"]
        and before["postmetricsnapshot"]
        and before["accountmetricsnapshot"]
    )
    media_files = sorted(p.name for p in (ocma.settings.data_dir / "media").rglob("*") if p.is_file())
    assert len(media_files) == 1

    archive = create_backup(ocma, tmp_path / "b.tar.gz", db_format=db_format).path  # type: ignore[arg-type]
    assert archive.stat().st_mode & 0o777 == 0o600
    wipe(ocma)
    assert not (ocma.settings.data_dir / "media").exists()

    report = restore_backup(Ocma(ocma.settings), archive)
    assert report.secrets_ok and report.media == 1 and report.notes == []
    after = everything(Ocma(ocma.settings))
    assert after == before
    restored = sorted(p.name for p in (ocma.settings.data_dir / "media").rglob("*") if p.is_file())
    assert restored == media_files


def test_keys_stay_out_unless_asked(populated: Ocma, tmp_path: Path) -> None:
    ocma = populated
    key = ocma.encryption_keys[0]
    plain = create_backup(ocma, tmp_path / "plain.tar.gz").path
    with tarfile.open(plain) as tar:
        names = tar.getnames()
        blob = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())  # type: ignore[union-attr]
    assert not any(n.startswith("keys/") for n in names)
    assert key.encode() not in blob
    assert read_manifest(plain).key_fingerprints and not read_manifest(plain).keys_included

    with_keys = create_backup(ocma, tmp_path / "keys.tar.gz", include_keys=True).path
    with tarfile.open(with_keys) as tar:
        member = tar.extractfile("keys/encryption.key")
        assert member is not None and member.read().decode().split() == ocma.encryption_keys


def test_restore_with_keys_into_a_new_machine(populated: Ocma, tmp_path: Path) -> None:
    """A new data directory without keys: --with-keys writes the key file (0600) and every secret decrypts."""
    ocma = populated
    archive = create_backup(ocma, tmp_path / "b.tar.gz", include_keys=True).path
    wipe(ocma)
    fresh_dir = tmp_path / "new-machine"
    settings = ocma.settings.model_copy(update={"data_dir": fresh_dir, "encryption_keys": None})
    without = restore_backup(Ocma(settings), archive, with_keys=False, replace=False)
    assert not without.secrets_ok and "fingerprints" in without.notes[0]
    wipe(Ocma(settings))
    report = restore_backup(Ocma(settings), archive, with_keys=True)
    assert report.keys_written and report.secrets_ok
    assert (fresh_dir / "encryption.key").stat().st_mode & 0o777 == 0o600


def test_restore_refuses_a_database_with_data_and_a_damaged_archive(populated: Ocma, tmp_path: Path) -> None:
    ocma = populated
    before = everything(ocma)
    archive = create_backup(ocma, tmp_path / "b.tar.gz").path
    with pytest.raises(ConfigError, match="already holds OCMA data") as refused:
        restore_backup(ocma, archive)
    assert "--replace" in (refused.value.fix or "")

    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["files"] = {k: "0" * 64 for k in manifest["files"]}
                data = json.dumps(manifest).encode()
                member.size = len(data)
            import io

            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(ConfigError, match="damaged"):
        restore_backup(ocma, damaged, replace=True)
    assert everything(Ocma(ocma.settings)) == before  # nothing was touched


def test_a_portable_restore_that_fails_part_way_leaves_the_database_as_it_was(
    populated: Ocma, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--replace used to drop every table, migrate and then load in three steps: a failure lost everything."""
    from ocma_core.backup import portable

    ocma = populated
    before = everything(ocma)
    archive = create_backup(ocma, tmp_path / "b.tar.gz", db_format="portable").path
    real_flush, calls = portable._flush, []

    def failing_flush(*args: Any) -> None:
        calls.append(1)
        real_flush(*args)
        raise OSError("disk full")  # after some rows went in

    monkeypatch.setattr(portable, "_flush", failing_flush)
    with pytest.raises(OSError, match="disk full"):
        restore_backup(ocma, archive, replace=True)
    assert calls
    dispose_engines()
    assert everything(Ocma(ocma.settings)) == before


def test_cli_backup_and_restore(populated: Ocma, tmp_path: Path, cli_run: Run) -> None:  # noqa: F811
    code, out, err = cli_run("backup", str(tmp_path))
    assert code == 0, err
    archive = next(tmp_path.glob("ocma-backup-*.tar.gz"))
    assert f"Backup written to {archive}" in out and "keys: not included" in out
    code, out, err = cli_run("restore", str(archive))
    assert code == 1 and "Fix: Restore into an empty database, or add --replace" in err
    code, out, err = cli_run("restore", str(archive), "--replace", "--yes")
    assert code == 0, err
    assert "Restored" in out and "decrypt every stored secret" in out
