"""Bulk import of posts from CSV: validate every row first, then import all (or only the valid rows)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel import select

from ocma_core.context import Ocma
from ocma_core.db.models import Account
from ocma_core.errors import OcmaError, ValidationFailed
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput
from ocma_core.services.scheduling import after_schedule
from ocma_core.services.workspaces import get_workspace

MAX_IMPORT_BYTES = 5_000_000
MAX_IMPORT_ROWS = 2000
COLUMNS = ("body", "accounts", "scheduled_at", "timezone", "media_ids", "thread")
HELP = (
    "Columns: body, accounts (account ids or platform:handle, separated by ';'), scheduled_at (ISO 8601), "
    "timezone (IANA, optional), media_ids (';'), thread (parts separated by '||'), "
    "variant:<platform> (text for that platform)."
)


@dataclass
class ImportReport:
    """What an import found and did."""

    rows: int = 0
    imported: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "rows": self.rows,
            "imported": len(self.imported),
            "post_ids": self.imported,
            "invalid_rows": len({p["row"] for p in self.problems}),
            "problems": self.problems,
        }


def _resolve_accounts(refs: str, by_id: dict[str, Account], by_handle: dict[str, Account]) -> list[str]:
    ids = []
    for ref in [r.strip() for r in refs.split(";") if r.strip()]:
        account = by_id.get(ref) or by_handle.get(ref.lower())
        if account is None:
            raise ValidationFailed(f"unknown account {ref!r} (use an account id or platform:handle)")
        ids.append(account.id)
    return ids


def read_csv(text: str) -> list[list[str]]:
    """Every record of a CSV (any line ending: LF, CRLF or a lone CR), or a ValidationFailed naming the line.

    Strict: a quote left open would otherwise swallow the rest of the file into one field.
    """
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValidationFailed(
            f"Line {line} of the CSV contains a NUL character.", fix="Save the file as CSV text."
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    starts = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
            starts = reader.line_num + 1
    except csv.Error as exc:
        raise ValidationFailed(
            f"The CSV cannot be read from line {starts}: {exc}.",
            fix='Close every quoted field with a " (write a quote inside one as ""), then import again.',
        ) from None
    return rows


def parse_rows(ocma: Ocma, workspace_id: str, text: str) -> tuple[list[tuple[int, PostInput]], ImportReport]:
    """Parse and validate every row; problems carry the CSV row number (the header is row 1)."""
    report = ImportReport()
    rows = read_csv(text)
    header = rows[0] if rows else []
    if "body" not in header or "accounts" not in header:
        raise ValidationFailed("The CSV needs a header row with at least body and accounts.", fix=HELP)
    if len(rows) < 2:
        raise ValidationFailed(
            "The CSV has a header but no posts.", fix="Add one row per post under the header."
        )
    with ocma.session() as session:
        accounts = list(session.exec(select(Account).where(Account.workspace_id == workspace_id)))
    by_id = {a.id: a for a in accounts}
    by_handle = {f"{a.platform}:{a.handle}".lower(): a for a in accounts}
    good: list[tuple[int, PostInput]] = []
    workspace = get_workspace(ocma, workspace_id)
    for number, cells in enumerate(rows[1:], start=2):
        report.rows += 1
        if report.rows > MAX_IMPORT_ROWS:
            raise ValidationFailed(
                f"The CSV has more than {MAX_IMPORT_ROWS} rows; nothing was imported.",
                fix=f"Split it into files of at most {MAX_IMPORT_ROWS} rows.",
            )
        row = dict(zip(header, cells, strict=False))
        if len(cells) <= max(header.index("body"), header.index("accounts")):
            report.problems.append(
                {
                    "row": number,
                    "field": "row",
                    "message": f"{len(cells)} cell(s) but the header names {len(header)} columns; "
                    "a line break (CR or LF) inside a body must be within double quotes.",
                }
            )
            continue
        if len(cells) > len(header):
            report.problems.append(
                {
                    "row": number,
                    "field": "row",
                    "message": f"{len(cells)} cells but the header names {len(header)} columns; "
                    'put a body that contains commas in double quotes ("...").',
                }
            )
            continue
        try:
            data = PostInput(
                body=row.get("body") or "",
                account_ids=_resolve_accounts(row.get("accounts") or "", by_id, by_handle),
                scheduled_at=row.get("scheduled_at") or None,
                timezone=row.get("timezone") or None,
                media_ids=[m.strip() for m in (row.get("media_ids") or "").split(";") if m.strip()],
                thread=[t.strip() for t in (row.get("thread") or "").split("||") if t.strip()],
                variants={
                    k.split(":", 1)[1]: v for k, v in row.items() if k and k.startswith("variant:") and v
                },
                action="schedule" if row.get("scheduled_at") else "draft",
            )
            data.scheduled_utc(workspace.timezone)  # a time that does not exist there is this row's problem
            checks = posts.check_targets(ocma, workspace_id, data, [by_id[i] for i in data.account_ids])
        except ValidationError as exc:
            for err in exc.errors():
                report.problems.append(
                    {"row": number, "field": ".".join(map(str, err["loc"])) or "row", "message": err["msg"]}
                )
            continue
        except OcmaError as exc:
            report.problems.append({"row": number, "field": "row", "message": str(exc)})
            continue
        bad = [(c, p) for c in checks for p in c.problems]
        for check, problem in bad:
            report.problems.append(
                {
                    "row": number,
                    "field": problem["field"],
                    "platform": check.platform,
                    "message": problem["message"],
                }
            )
        if not bad:
            good.append((number, data))
    return good, report


def import_csv(
    ocma: Ocma,
    workspace_id: str,
    text: str,
    *,
    partial: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import posts; with any invalid row nothing is imported unless `partial`.

    Without `partial` every post is created in one transaction (all or nothing); with it each row stands alone.
    """
    good, report = parse_rows(ocma, workspace_id, text)
    if report.problems and not partial:
        return report
    if partial:
        for number, data in good:
            try:
                report.imported.append(posts.create_post(ocma, workspace_id, data, created_by="import").id)
            except OcmaError as exc:
                report.problems.append({"row": number, "field": "row", "message": str(exc)})
            if progress:
                progress(1)
        return report
    made = []
    with ocma.session() as session:
        for number, data in good:
            try:
                made.append(posts.create_post_in(ocma, session, workspace_id, data, created_by="import"))
            except OcmaError as exc:
                exc.message = f"Row {number}: {exc.message}"
                raise
            if progress:
                progress(1)
    for post, event in made:
        after_schedule(ocma, post, event)
    report.imported = [post.id for post, _ in made]
    return report
