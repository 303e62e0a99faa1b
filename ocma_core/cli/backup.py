"""backup, restore."""

from __future__ import annotations

from pathlib import Path

import click

from ocma_core.cli.common import examples, json_option, print_json


@examples(
    "ocma backup                         # ./ocma-backup-<time>.tar.gz",
    "ocma backup /backups/               # into a directory",
    "ocma backup nightly.tar.gz --format portable",
    "ocma backup --include-keys keys-and-data.tar.gz   # keep this file as safe as the keys",
)
@click.command()
@click.argument("dest", type=click.Path(path_type=Path), default=Path("."))
@click.option(
    "--include-keys",
    is_flag=True,
    help="Put the encryption keys in the archive too (anyone with the file can then read every stored token).",
)
@click.option(
    "--format",
    "db_format",
    type=click.Choice(["auto", "native", "portable"]),
    default="auto",
    show_default=True,
    help="native: SQLite backup API or pg_dump; portable: JSON lines that restore into either database "
    "(auto: native, or portable when pg_dump is missing).",
)
@json_option
def backup(dest: Path, include_keys: bool, db_format: str, as_json: bool) -> None:
    """Write one archive with the database and the media files (mode 0600); safe while OCMA runs.

    The encryption keys stay out unless --include-keys: back them up separately (the archive records their
    fingerprints, so a restore can tell whether the keys in force are the right ones).
    """
    from ocma_core.backup import create_backup
    from ocma_core.cli.common import context

    report = create_backup(context(), dest, include_keys=include_keys, db_format=db_format)  # type: ignore[arg-type]
    m = report.manifest
    if as_json:
        print_json({"path": str(report.path), "manifest": m.__dict__, "missing_media": report.missing_media})
        return
    rows = sum(n for t, n in m.rows.items() if t != "alembic_version")
    click.echo(f"Backup written to {report.path}")
    click.echo(f"  database: {m.backend} ({m.db_format}), {rows} rows, migration {m.revision}")
    click.echo(f"  media: {m.media_count} files, {m.media_bytes} bytes")
    fingerprints = ", ".join(m.key_fingerprints)
    if m.keys_included:
        click.echo(f"  keys: INCLUDED ({fingerprints}); keep this archive as safe as the keys themselves")
    else:
        click.echo(f"  keys: not included; back up the keys with fingerprints {fingerprints} separately")
    for key in report.missing_media:
        click.echo(
            f"Warning: the bytes of media {key[:12]}… are missing from the store; not in the backup.",
            err=True,
        )


@examples(
    "ocma restore ocma-backup-20260301T020000Z.tar.gz",
    "ocma restore backup.tar.gz --replace    # overwrite a database that holds data (OCMA stopped)",
    "ocma restore backup.tar.gz --with-keys  # also write the archive's keys to the data directory",
)
@click.command()
@click.argument("archive", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Overwrite a database that already holds OCMA data.")
@click.option(
    "--with-keys", is_flag=True, help="Write the keys the archive holds (made with --include-keys)."
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation before --replace.")
def restore(archive: Path, replace: bool, with_keys: bool, yes: bool) -> None:
    """Restore a backup into the configured database and media store (checked before anything is changed)."""
    from ocma_core.backup import read_manifest, restore_backup
    from ocma_core.context import Ocma

    manifest = read_manifest(archive)
    click.echo(f"Backup of {manifest.created_at} (OCMA {manifest.ocma_version}, {manifest.backend}).")
    if replace and not yes:
        click.confirm("Overwrite the configured database with this backup?", abort=True)
    report = restore_backup(Ocma(), archive, replace=replace, with_keys=with_keys)
    rows = sum(n for t, n in manifest.rows.items() if t != "alembic_version")
    click.echo(f"Restored {rows} rows and {report.media} media files.")
    if report.keys_written:
        click.echo("Wrote the archive's keys to the data directory's encryption.key (mode 0600).")
    if report.secrets_ok:
        click.echo("The keys in force decrypt every stored secret.")
    for note in report.notes:
        click.echo(f"Warning: {note}", err=True)
    if not report.secrets_ok:
        raise SystemExit(1)
