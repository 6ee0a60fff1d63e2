"""The salesbot command line: serve, workers, database, shell, demo, import/export, jobs, queues."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.logs import configure_logging
from config.rules import Rules, RulesError, load_rules
from config.settings import ConfigError, Settings, load_settings
from handlers.clock import Clock, FrozenClock, SystemClock

app = typer.Typer(
    help="salesbot: a chat-bot for sales teams on WeCom and DingTalk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
jobs_app = typer.Typer(
    help="Scheduled jobs (watch, sop, digest), run by hand.", no_args_is_help=True
)
outbox_app = typer.Typer(help="Undelivered pushes: list and replay.", no_args_is_help=True)
inbox_app = typer.Typer(
    help="Received messages not yet handled, or given up on.", no_args_is_help=True
)
users_app = typer.Typer(help="User administration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(jobs_app, name="jobs")
app.add_typer(outbox_app, name="outbox")
app.add_typer(inbox_app, name="inbox")
app.add_typer(users_app, name="users")

T = TypeVar("T")


def main() -> None:
    app()


def _fail(message: str, code: int = 2) -> typer.Exit:
    print(message, file=sys.stderr)
    return typer.Exit(code)


def _config() -> tuple[Settings, Rules]:
    try:
        settings = load_settings()
        rules = load_rules(settings.rules_file)
    except (ConfigError, RulesError) as err:
        raise _fail(str(err)) from None
    return settings, rules


def _clock(now: str | None) -> Clock:
    if now is None:
        return SystemClock()
    try:
        when = datetime.fromisoformat(now)
    except ValueError:
        raise _fail(
            f"--now: expected an ISO-8601 time such as 2026-03-20T09:00:00+08:00, got {now!r}"
        ) from None
    if when.tzinfo is None:
        raise _fail("--now: give a timezone offset, e.g. 2026-03-20T09:00:00+08:00")
    return FrozenClock(when)


def _run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def _with_db(
    settings: Settings, work: Callable[[Any], Awaitable[T]], *, migrate: bool = True
) -> T:
    from storage.db import create_engine, make_sessionmaker
    from storage.migrate import upgrade_to_head

    engine = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade_to_head(engine)
        return await work(make_sessionmaker(engine))
    finally:
        await engine.dispose()


@app.callback()
def _setup(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
) -> None:
    configure_logging(log_level)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Migrate if needed, then run the webhook server, the workers and the scheduler."""
    from bot.serve import run_server

    settings, rules = _config()
    configure_logging("INFO")
    raise typer.Exit(run_server(settings, rules, host=host, port=port, http=True))


@app.command()
def worker() -> None:
    """Run only the workers (inbox, outbox, voice, scheduler) — no HTTP."""
    from bot.serve import run_server

    settings, rules = _config()
    configure_logging("INFO")
    raise typer.Exit(run_server(settings, rules, host="", port=0, http=False))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Alembic upgrade to head."""
    from storage.migrate import current_revision, head_revision

    settings, _ = _config()

    async def work(sessions: Any) -> str | None:
        return await current_revision(sessions.kw["bind"])

    revision = _run(_with_db(settings, work))
    print(f"database at revision {revision} (head {head_revision()})")


@app.command()
def shell(
    as_user: Annotated[str, typer.Option("--as", help="The user to chat as (their name).")],
) -> None:
    """A local chat in the terminal through the same handlers; pushes to others are printed."""
    from bot.shell import run_shell
    from handlers.context import Context
    from handlers.extraction import RuleExtractor

    settings, rules = _config()
    extractor = RuleExtractor(rules.stage_names)  # stage hints in notes: the configured funnel
    ctx = Context(
        clock=SystemClock(),
        rules=rules,
        tz=settings.tz,
        extractor=extractor,
        max_note_chars=settings.max_note_chars,
        extract_budget_s=settings.extract_budget_s,
        retention_days=settings.retention_days,
        public_url=settings.public_url,
    )
    raise typer.Exit(_run(_with_db(settings, lambda s: run_shell(s, ctx, user_name=as_user))))


@app.command()
def demo() -> None:
    """Seed a demo team, reps, customers and their history into the configured database."""
    from handlers.demo import seed_demo

    settings, rules = _config()

    async def work(sessions: Any) -> list[str]:
        async with sessions() as db, db.begin():
            summary = await seed_demo(db, now=SystemClock().now(), rules=rules)
        return summary.lines()

    for line in _run(_with_db(settings, work)):
        print(line)


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="teams, users, customers or leads")],
    file: Annotated[
        Path, typer.Argument(help="UTF-8 CSV with a header row", exists=True, dir_okay=False)
    ],
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="customers: let a re-import change an existing customer's owner or stage, or "
            "drop its aliases (audited per field); without it such lines are listed, unchanged",
        ),
    ] = False,
) -> None:
    """Bulk import; a file with any bad row imports nothing and names every bad line.

    leads (name,source,region,contact,phone,budget,urgency,note) are assigned by the rules and
    their cards queued for the reps."""
    from handlers.imports import import_csv

    if kind not in ("teams", "users", "customers", "leads"):
        raise _fail(f"import: expected teams, users, customers or leads, got {kind!r}")
    settings, rules = _config()
    data = file.read_bytes()
    if kind == "leads":
        from bot.admin_cli import import_leads_file

        report = _run(import_leads_file(settings, rules, data, clock=SystemClock()))
        for line in report.lines():
            print(line)
        if not report.ok:
            raise typer.Exit(1)
        return

    async def work(sessions: Any) -> Any:
        async with sessions() as db, db.begin():
            report = await import_csv(
                db,
                kind,  # type: ignore[arg-type]
                data,
                now=SystemClock().now(),
                rules=rules,
                update=update,
            )
            if not report.ok:
                await db.rollback()
            return report

    report = _run(_with_db(settings, work))
    for line in report.lines():
        print(line)
    if not report.ok:
        raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list() -> None:
    """The scheduled jobs."""
    from bot.jobs import JOBS

    for name, job in JOBS.items():
        print(f"{name}\t{job.description}")


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="watch, sop or digest")],
    now: Annotated[str | None, typer.Option(help="Run as of this ISO-8601 time.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what it would raise; write nothing.")
    ] = False,
) -> None:
    """Run one scheduled job once; prints each alert or task it raises, then `raised N`."""
    from bot.jobs import JOBS
    from bot.jobs_cli import run_job_once

    if name not in JOBS:
        raise _fail(f"jobs run: unknown job {name!r}; expected one of {', '.join(JOBS)}")
    settings, rules = _config()
    lines = _run(run_job_once(settings, rules, name, clock=_clock(now), dry_run=dry_run))
    for line in lines:
        print(line)


@outbox_app.command("list")
def outbox_list(
    dead: Annotated[bool, typer.Option("--dead", help="Only rows that gave up.")] = False,
) -> None:
    """Undelivered pushes, newest first."""
    from storage import outbox

    settings, _ = _config()

    async def work(sessions: Any) -> list[Any]:
        async with sessions() as db:
            return await outbox.list_items(db, dead_only=dead)

    rows = _run(_with_db(settings, work))
    for row in rows:
        text = str(row.payload.get("text") or row.payload.get("title") or row.payload.get("type"))
        print(
            f"{row.id}\t{row.status}\t{row.platform}/{row.channel}\t{row.target}\t"
            f"attempts={row.attempts}\t{(row.last_error or '')[:80]}\t{text[:60]}"
        )
    print(f"{len(rows)} row(s)")


@inbox_app.command("list")
def inbox_list(
    dead: Annotated[bool, typer.Option("--dead", help="Only messages that gave up.")] = False,
) -> None:
    """Received messages not handled yet (or only the dead ones), newest first."""
    from storage import inbox

    settings, _ = _config()

    async def work(sessions: Any) -> list[Any]:
        async with sessions() as db:
            return await inbox.list_items(db, dead_only=dead)

    rows = _run(_with_db(settings, work))
    for row in rows:
        error = " ".join((row.last_error or "").split())
        print(
            f"{row.id}\t{row.status}\t{row.platform}\t{row.message_key[:40]}\t"
            f"attempts={row.attempts}\t{row.received_at.isoformat()}\t{error[:100]}"
        )
    print(f"{len(rows)} row(s)")


@outbox_app.command("retry")
def outbox_retry(row_id: Annotated[int, typer.Argument(help="Outbox row id")]) -> None:
    """Put a dead row back in the queue."""
    from storage import outbox

    settings, _ = _config()

    async def work(sessions: Any) -> bool:
        async with sessions() as db, db.begin():
            return await outbox.retry(db, row_id, now=SystemClock().now())

    if not _run(_with_db(settings, work)):
        raise _fail(f"outbox retry: no undelivered row {row_id}", code=1)
    print(f"row {row_id} queued again")


@users_app.command("deactivate")
def users_deactivate(
    name: Annotated[str, typer.Argument(help="The leaving user's name")],
    to: Annotated[str, typer.Option("--to", help="Who takes over their customers and tasks")],
) -> None:
    """Hand a leaving rep's customers, open commitments and tasks to another rep (audited)."""
    from bot.admin_cli import deactivate

    settings, rules = _config()
    try:
        lines = _run(deactivate(settings, rules, name, to))
    except ValueError as err:
        raise _fail(str(err), code=1) from None
    for line in lines:
        print(line)


@app.command()
def export(
    kind: Annotated[str, typer.Argument(help="customers, followups, commitments, tasks or audit")],
    file: Annotated[Path, typer.Argument(help="Output CSV (UTF-8 with BOM)")],
    since: Annotated[
        str | None, typer.Option(help="Only rows from this date (YYYY-MM-DD) on")
    ] = None,
) -> None:
    """Write a UTF-8 CSV with a BOM (opens correctly in Excel and WPS)."""
    from bot.admin_cli import export_csv_file

    settings, _ = _config()
    try:
        count = _run(export_csv_file(settings, kind, file, since))
    except ValueError as err:
        raise _fail(str(err)) from None
    print(f"wrote {file} ({count} bytes)")


@app.command()
def doctor() -> None:
    """Check configuration, database, rules, platform credentials and the ASR model."""
    from bot.doctor import run_doctor

    raise typer.Exit(_run(run_doctor()))


@app.command()
def extract(
    text: Annotated[str, typer.Argument(help="A follow-up note")],
    now: Annotated[str | None, typer.Option(help="When the note was sent (ISO-8601)")] = None,
) -> None:
    """Show the structured log the bot would make of a note (customers from the database)."""
    from bot.admin_cli import extract_note_cli

    settings, rules = _config()
    for line in _run(extract_note_cli(settings, rules, text, _clock(now))):
        print(line)
