"""Best time plus a monthly report over 200,000 and 2,000,000 post snapshots of 50 accounts on PostgreSQL.

Set-up (not timed), once per size: a throwaway database migrated to head; 50 FakeSocial accounts posting
about 1.7 synthetic posts a day each for DAYS days (400 days = 690 posts each), each post measured at the
collection cadence (1 h ... 30 d) = 200,000+ rows in `postmetricsnapshot` per 400 days, plus a daily
follower snapshot per account, and each post's schedule row with the snapshot pointers the collector keeps
(`ocma_core.analytics.pointers`). The sizes differ only in how long the workspace has been collecting: the
analyses read the same 26 weeks either way, so their time and memory should not grow with the older rows.

Timed, in a fresh child process (so its peak RSS is the analysis, not the set-up):
  1. best times of all 50 accounts (`answers.best_times`: 26 weeks of history, 168 slots each, priors from
     the workspace's other accounts, permutation tests);
  2. the monthly report for last month (`reports.build_report`: engagement, growth, best times, trends,
     content effects, experiments, competitors).
Cold = first run in the process (imports numpy, opens connections); warm = median of the next 7 runs (a
server's steady state). Baseline, same process and same rows: a plain SQL aggregate (per account and hour
of week, count and mean likes over every snapshot joined to its target).

Run: .venv/bin/python benchmarks/analytics.py [--days 400,4000]
Last line, for each size i (in --days order): snapshots_i= seconds_i= peak_mb_i= baseline_seconds_i=
(seconds: warm best time + monthly report; peak_mb: peak RSS of the child; baseline: the SQL aggregate),
then seconds= peak_mb= of the first size (the figures this benchmark has always printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "example_platform"))

PG_ADMIN = os.environ.get("OCMA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ACCOUNTS = 50
TARGET_SNAPSHOTS = 200_000
WARM_RUNS = 7  # the shared machine's speed drifts: a median of several runs
POSTS_PER_ACCOUNT = 690  # x 6 collections each (fewer for the newest posts) = just over 200,000 snapshots
BASELINE_SQL = """
SELECT t.account_id, EXTRACT(ISODOW FROM t.published_at) AS dow, EXTRACT(HOUR FROM t.published_at) AS hour,
       count(*), avg((s."values"->>'likes')::float)
FROM postmetricsnapshot s JOIN target t ON t.id = s.target_id
WHERE t.workspace_id = :ws
GROUP BY 1, 2, 3
"""


def setup(url: str, days: int = 400) -> str:
    """Migrate, create the workspace and accounts, and seed `days` days of snapshots; returns the workspace id."""
    from sqlalchemy import insert

    from ocma_core.analytics.synthetic import make_posts, seed
    from ocma_core.config import Settings
    from ocma_core.context import Ocma
    from ocma_core.db.engine import make_engine
    from ocma_core.db.migrate import upgrade
    from ocma_core.db.models import Account
    from ocma_core.db.types import new_id, utcnow
    from ocma_core.services.workspaces import create_workspace

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    ocma = Ocma(Settings(database_url=url, data_dir=Path("/tmp"), _env_file=None))  # type: ignore[call-arg]
    ws = create_workspace(ocma, "Benchmark", timezone="Europe/Berlin").id
    now = utcnow()
    accounts = [
        {
            "id": new_id(),
            "workspace_id": ws,
            "platform": "fakesocial",
            "external_id": str(1000 + i),
            "handle": f"account{i}",
            "display_name": "",
            "status": "connected",
            # never used: the benchmark makes no platform call
            "access_token_enc": "benchmark-has-no-token",
            "scopes": [],
            "settings": {},
            "token_version": 0,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(ACCOUNTS)
    ]
    with ocma.session() as session:
        session.execute(insert(Account), accounts)
    written = 0
    per_account = round(POSTS_PER_ACCOUNT * days / 400)
    for i, account in enumerate(accounts):
        posts = make_posts(
            i,
            per_account,
            account_id=account["id"],
            start=now - timedelta(days=days),
            days=days - 1,
            effect=lambda w, h=9 + i % 8: 1.6 if w.hour == h else 1.0,
        )
        followers = [(now - timedelta(days=days - d), 1000.0 + 5 * d + i) for d in range(days)]
        written += seed(ocma, ws, account["id"], posts, steps=6, followers=followers, now=now)
    assert written >= TARGET_SNAPSHOTS * days // 400, written
    print(
        f"seeded {written} post snapshots, {ACCOUNTS * days} account snapshots, {ACCOUNTS} accounts",
        flush=True,
    )
    return ws


def measure(url: str, ws: str) -> dict[str, float]:
    """Run in the child: time best times + monthly report (cold, then warm), and the SQL baseline."""
    from sqlalchemy import text

    from ocma_core.config import Settings
    from ocma_core.context import Ocma
    from ocma_core.plugins import PluginHost, reset_host

    host = PluginHost()
    import ocma_example_platform

    from ocma_core.analytics import builtin_analyzers

    host.register(ocma_example_platform, name="ocma_example_platform")
    host.register(builtin_analyzers, name="builtin_analyzers")
    reset_host(host)
    ocma = Ocma(Settings(database_url=url, data_dir=Path("/tmp"), _env_file=None))  # type: ignore[call-arg]

    def run() -> tuple[float, float, int, float]:
        from ocma_core.analytics import answers, reports

        c0 = time.process_time()
        t0 = time.perf_counter()
        best = answers.best_times(ocma, ws)
        t1 = time.perf_counter()
        report = reports.build_report(ocma, ws, "last-month")
        t2 = time.perf_counter()
        assert len(best) == ACCOUNTS and not report["errors"], report["errors"]
        return t1 - t0, t2 - t1, report["data"]["history_posts"], time.process_time() - c0

    cold = run()
    warm = [run() for _ in range(WARM_RUNS)]
    with ocma.engine.connect() as conn:
        conn.execute(text(BASELINE_SQL), {"ws": ws}).all()  # warm the same pages
        baseline_runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            rows = conn.execute(text(BASELINE_SQL), {"ws": ws}).all()
            baseline_runs.append(time.perf_counter() - t0)
        snapshots = conn.execute(text("SELECT count(*) FROM postmetricsnapshot")).scalar_one()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "cold_best": cold[0],
        "cold_report": cold[1],
        "best": statistics.median(w[0] for w in warm),
        "report": statistics.median(w[1] for w in warm),
        "total": statistics.median(w[0] + w[1] for w in warm),
        "baseline": statistics.median(baseline_runs),
        "baseline_groups": len(rows),
        "snapshots": snapshots,
        "history_posts": cold[2],
        "peak_mb": peak_mb,
        "cpu": statistics.median(w[3] for w in warm),
    }


def measure_size(days: int) -> dict[str, float]:
    """Create a database with `days` days of snapshots, measure in a child process, drop the database."""
    from sqlalchemy import text

    from ocma_core.db.engine import make_engine

    admin = make_engine(PG_ADMIN)
    name = f"ocma_bench_analytics_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        ws = setup(url, days)
        with make_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        child = subprocess.run(
            [sys.executable, __file__, "--measure", url, ws], capture_output=True, text=True, check=False
        )
        if child.returncode != 0:
            raise SystemExit(child.stderr)
        m: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        from ocma_core.db.engine import dispose_engines

        dispose_engines()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    _print_size(m)
    return m


def _print_size(m: dict[str, float]) -> None:
    total = m["total"]  # median of the runs' totals
    print(f"snapshots={m['snapshots']} accounts={ACCOUNTS} history_posts_in_report={m['history_posts']}")
    print(
        f"cold: best_time={m['cold_best']:.3f}s monthly_report={m['cold_report']:.3f}s (first run: imports, "
        "connections)"
    )
    print(
        f"warm (median of {WARM_RUNS}): best_time={m['best']:.3f}s monthly_report={m['report']:.3f}s total={total:.3f}s "
        "(the monthly report itself also computes every account's best times)"
    )
    print(
        f"CPU of the analysing process (warm, both steps): {m['cpu']:.3f}s; the rest of the wall time is "
        "PostgreSQL and waiting for a CPU (load average now: "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        + ")"
    )
    print(
        f"baseline: plain SQL aggregate of the same {m['snapshots']} snapshots by account and hour of week "
        f"({m['baseline_groups']} groups) = {m['baseline']:.3f}s; ratio total/baseline = "
        f"{total / m['baseline']:.1f}x"
    )
    print(
        f"goal: total < 1 s: {'met' if total < 1.0 else 'NOT met'}; peak RSS {m['peak_mb']:.0f} MB",
        flush=True,
    )


def main() -> None:
    """Measure each size (--days), then print one line of name=value pairs."""
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--days", default="400,4000", help="comma-separated days of collected history, one database each"
    )
    sizes = [int(d) for d in parser.parse_args().days.split(",")]
    results = [measure_size(days) for days in sizes]
    pairs = [
        f"snapshots_{i}={m['snapshots']} seconds_{i}={m['total']:.3f} peak_mb_{i}={m['peak_mb']:.0f} "
        f"baseline_seconds_{i}={m['baseline']:.3f}"
        for i, m in enumerate(results, 1)
    ]
    print(" ".join([*pairs, f"seconds={results[0]['total']:.3f} peak_mb={results[0]['peak_mb']:.0f}"]))


if __name__ == "__main__":
    main()
