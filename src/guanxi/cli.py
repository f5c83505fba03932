"""The ``guanxi`` command: serve, worker, database, users, teams, audit and demo data."""

from __future__ import annotations

import getpass
import logging
import sys
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from guanxi import __version__, cli_support, crypto, demo, jobs, key_rotation, schema
from guanxi.analytics import cli as analytics_cli
from guanxi.analytics.clv_cli import clv_app
from guanxi.analytics.reports.cli import reports_app
from guanxi.audit import service as audit_service
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import TeamCreate, UserCreate
from guanxi.config import Settings, SettingsError
from guanxi.customers import records_cli
from guanxi.customers.transfer import cli as customers_cli
from guanxi.db import Database
from guanxi.errors import GuanxiError
from guanxi.interactions.followups.reminders import follow_ups_app
from guanxi.sales.contracts.jobs import contracts_app
from guanxi.service_desk.cli import portal_app, service_app

app = typer.Typer(
    help="Guanxi (关系) CRM",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
user_app = typer.Typer(help="User accounts", no_args_is_help=True)
team_app = typer.Typer(help="Teams", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log", no_args_is_help=True)
keys_app = typer.Typer(help="Field-encryption keys", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(team_app, name="team")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(customers_cli.import_app, name="import")
app.add_typer(customers_cli.export_app, name="export")
app.add_typer(records_cli.customers_app, name="customers")
app.add_typer(contracts_app, name="contracts")
app.add_typer(follow_ups_app, name="follow-ups")
app.add_typer(clv_app, name="clv")
app.add_typer(reports_app, name="reports")
app.add_typer(portal_app, name="portal")
app.add_typer(service_app, name="service")
app.command("analyze")(analytics_cli.analyze)

_settings = cli_support.settings
_database = cli_support.database
_unit_of_work = cli_support.unit_of_work
_validated = cli_support.validated
CliError = cli_support.CliError
console = cli_support.console
errors = cli_support.errors


# ---------------------------------------------------------------- run


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    demo_data: Annotated[
        bool, typer.Option("--demo", help="Set up the database and the demo company if needed")
    ] = False,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run background jobs in this process")
    ] = True,
) -> None:
    """Run the web app and API (and, by default, the background job worker)."""
    import uvicorn

    from guanxi.app import create_app

    settings = _settings()
    db = _database(settings)
    if demo_data:
        _ensure_demo(db, settings, seed=1, size=demo.DemoSize.small)
    elif schema.pending_migrations(db):
        raise CliError(
            "the database is not set up or not up to date; run `guanxi db upgrade` "
            "(or `guanxi serve --demo` to try Guanxi with demo data)"
        )
    app_instance = create_app(settings, database=db, embedded_worker=worker)
    console.print(f"Guanxi {__version__} on [bold]http://{host}:{port}[/bold]  (Ctrl+C stops)")
    uvicorn.run(app_instance, host=host, port=port, log_level="info", proxy_headers=True)


def _ensure_demo(db: Database, settings: Settings, *, seed: int, size: demo.DemoSize) -> None:
    schema.upgrade(db)
    with _unit_of_work(db) as session:
        logins = demo.existing_logins(session)
        created = logins is None
        if logins is None:
            company = _create_demo(session, seed=seed, size=size)
            logins = company.logins
    if created:
        _score_demo(db, settings)
    _print_logins(logins)


def _create_demo(session: Session, *, seed: int, size: demo.DemoSize) -> demo.DemoCompany:
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as progress:
        task = progress.add_task("Creating the demo company", total=None)
        company = demo.create(
            session,
            seed=seed,
            size=size,
            progress=lambda step: progress.update(task, description=f"Demo data: {step}"),
        )
    return company


def _score_demo(db: Database, settings: Settings) -> None:
    """Score the new demo company (after its transaction committed: runs read committed data)."""
    from guanxi.analytics import demo as analytics_demo  # loads the scoring stack

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as progress:
        task = progress.add_task("Scoring the demo company", total=None)
        finished = analytics_demo.score_demo(
            db,
            settings,
            progress=lambda step: progress.update(task, description=f"Demo scoring: {step}"),
        )
    for run in finished:
        outcome = "scored" if run.status == "succeeded" else f"failed: {run.error}"
        console.print(f"Scoring run {run.id} as of {run.observation_end}: {outcome}")


def _print_logins(logins: list[demo.DemoLogin]) -> None:
    table = Table(title="Demo logins (one per role)")
    table.add_column("username")
    table.add_column("role")
    table.add_column("password")
    for entry in logins:
        table.add_row(entry.username, entry.role, entry.password)
    console.print(table)


@app.command()
def worker(
    workers: Annotated[int, typer.Option(help="Worker threads")] = 2,
) -> None:
    """Run background jobs (for deployments that keep them out of the web processes)."""
    settings = _settings()
    db = _database(settings)
    queue = jobs.build_queue(settings, db)
    jobs.install(queue)
    console.print(f"Guanxi worker with {workers} threads; Ctrl+C stops after running jobs finish")
    queue.consumer(workers=workers).run()


@app.command("demo")
def demo_command(
    seed: Annotated[int, typer.Option(help="Same seed, same company")] = 1,
    size: Annotated[demo.DemoSize, typer.Option(help="How big a company")] = demo.DemoSize.small,
) -> None:
    """Create a deterministic demo company with a user per role, and print their passwords."""
    settings = _settings()
    db = _database(settings)
    with _unit_of_work(db) as session:
        company = _create_demo(session, seed=seed, size=size)
    _score_demo(db, settings)
    _print_logins(company.logins)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


# ---------------------------------------------------------------- database


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to this version of Guanxi (safe to run again)."""
    settings = _settings()
    db = _database(settings)
    schema.upgrade(db)
    console.print(f"Database is up to date: {db.engine.url.render_as_string(hide_password=True)}")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database needs `guanxi db upgrade`."""
    db = _database(_settings())
    if schema.pending_migrations(db):
        raise CliError("migrations are pending; run `guanxi db upgrade`")
    console.print("Database is up to date.")


# ---------------------------------------------------------------- users and teams


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option(help="Role name, e.g. admin, manager, sales")],
    team: Annotated[str | None, typer.Option(help="Team name")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    display_name: Annotated[str, typer.Option(help="Name shown to people")] = "",
    email: Annotated[str, typer.Option(help="E-mail address")] = "",
) -> None:
    """Create a user. The password comes from standard input, never from the command line."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
    db = _database(_settings())
    with _unit_of_work(db) as session:
        team_id = auth_service.get_team_by_name(session=session, name=team).id if team else None
        user = auth_service.create_user(
            session=session,
            user_in=_validated(
                UserCreate,
                username=username,
                password=password,
                role=role,
                team_id=team_id,
                display_name=display_name,
                email=email,
            ),
        )
        console.print(f"Created user {user.username} ({user.role.name}) with id {user.id}")


@user_app.command("list")
def user_list() -> None:
    """List users with their role, team and status."""
    db = _database(_settings())
    table = Table("id", "username", "name", "role", "team", "active")
    with _unit_of_work(db) as session:
        cursor = None
        while True:
            page = auth_service.list_users(session=session, limit=500, cursor=cursor)
            for user in page.items:
                table.add_row(
                    str(user.id),
                    user.username,
                    user.display_name,
                    user.role.name,
                    user.team.name if user.team else "",
                    "yes" if user.is_active else "no",
                )
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    console.print(table)


@team_app.command("create")
def team_create(
    name: Annotated[str, typer.Argument(help="Team name")],
    parent: Annotated[str | None, typer.Option(help="Name of the team it belongs to")] = None,
    description: Annotated[str, typer.Option(help="What the team does")] = "",
) -> None:
    """Create a team, optionally below another one."""
    db = _database(_settings())
    with _unit_of_work(db) as session:
        parent_id = (
            auth_service.get_team_by_name(session=session, name=parent).id if parent else None
        )
        team = auth_service.create_team(
            session=session,
            team_in=_validated(TeamCreate, name=name, parent_id=parent_id, description=description),
        )
        console.print(f"Created team {team.name} with id {team.id}")


# ---------------------------------------------------------------- audit


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain and report the first entry that was tampered with."""
    db = _database(_settings())
    with db.unit_of_work() as session:
        report = audit_service.verify(session=session)
    if report.problem is not None:
        errors.print(
            f"[red]Audit chain BROKEN at entry {report.problem.entry_id}:[/red] "
            f"{report.problem.reason} ({report.checked} entries before it are intact)"
        )
        raise typer.Exit(1)
    console.print(f"Audit chain intact: {report.checked} entries verified.")


# ---------------------------------------------------------------- keys


@keys_app.command("status")
def keys_status() -> None:
    """Show the current field-encryption key and how many values still use older keys."""
    settings = _settings()
    db = _database(settings)
    with _unit_of_work(db) as session:
        stale = key_rotation.count_stale(session)
    keys = crypto.cipher().keys
    console.print(f"Key file: {crypto.key_file(settings)}")
    console.print(f"Current key: {keys.current} (of {', '.join(sorted(keys.keys))})")
    for name, count in stale.items():
        console.print(f"  {name}: {count} value(s) sealed with an older key")


@keys_app.command("rotate")
def keys_rotate(
    add: Annotated[
        bool, typer.Option("--add/--no-add", help="Make a new key current first")
    ] = True,
) -> None:
    """Make a new key current and re-encrypt every stored value with it (resumable)."""
    settings = _settings()
    db = _database(settings)
    if schema.pending_migrations(db):
        raise CliError("the database schema is not up to date; run `guanxi db upgrade` first")
    if add:
        keys = key_rotation.add_key(settings)
        console.print(f"New current key {keys.current} written to {crypto.key_file(settings)}")
    with _unit_of_work(db) as session:
        total = sum(key_rotation.count_stale(session).values())
    with Progress(console=console) as progress:
        task = progress.add_task("Re-encrypting", total=total or 1)
        done = key_rotation.reencrypt(db, progress=lambda _column, n: progress.advance(task, n))
    console.print(
        f"{done} value(s) re-encrypted. Keep the old keys in the file until backups made "
        "before this rotation have expired."
    )


# ---------------------------------------------------------------- plumbing


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("guanxi").setLevel(logging.INFO)
    try:
        app()
    except SettingsError as exc:
        errors.print(f"guanxi: {exc}", markup=False, highlight=False)
        sys.exit(2)
    except (CliError, GuanxiError) as exc:
        errors.print(f"guanxi: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except OperationalError as exc:
        errors.print(f"guanxi: cannot use the database: {exc.orig}", markup=False, highlight=False)
        sys.exit(1)
