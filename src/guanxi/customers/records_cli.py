"""``guanxi customers ...``: find, show, de-duplicate, merge and erase customers from a shell.

Like every data command, these act as an administrator unless ``--as USERNAME`` is given; then
they see only that user's customers and may do only what that user's role allows, exactly as the
API and the pages do (a customer out of sight is "not found", never "forbidden").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.cli_support import CliError, acting_user, console, database, settings, unit_of_work
from guanxi.customers import dedupe, merge, privacy
from guanxi.customers import service as customer_service
from guanxi.customers.search import CustomerFilter
from guanxi.customers.transfer.cli import AsOption, one_line, write_whole
from guanxi.errors import GuanxiError

customers_app = typer.Typer(
    help="Find, show, de-duplicate, merge and erase customers", no_args_is_help=True
)
IdArgument = Annotated[int, typer.Argument(help="Customer id", min=1)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]


@contextmanager
def _acting(as_user: str | None, *permission: str) -> Iterator[tuple[Session, User]]:
    """A unit of work as the acting user, refused up front if their role lacks ``permission``."""
    db = database(settings())
    try:
        with unit_of_work(db) as session:
            actor = acting_user(session, as_user)
            if permission and not actor.can(*permission):
                raise CliError(f"{actor.username}: your role may not {permission[1]} customers")
            yield session, actor
    except GuanxiError as error:
        raise CliError(one_line(error)) from None
    finally:
        db.dispose()


def _print_json(document: Any) -> None:
    console.print_json(json.dumps(document, ensure_ascii=False, default=str))


@customers_app.command("list")
def list_command(
    q: Annotated[
        str, typer.Option("--q", help="Fragment of a name, company, phone or e-mail")
    ] = "",
    city: Annotated[str, typer.Option("--city", help="Only this city")] = "",
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only customers with this tag (repeatable)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find customers by any fragment of name, company, phone or e-mail, newest first."""
    spec = CustomerFilter(q=q, equals={"city": city} if city else {}, tags=tag or [])
    with _acting(as_user, "customers", "read") as (session, actor):
        page = customer_service.list_customers(session=session, actor=actor, spec=spec, limit=limit)
        found = [customer_service.to_summary(c).model_dump(mode="json") for c in page.items]
        total = customer_service.count_customers(session=session, actor=actor, spec=spec)
    if as_json:
        _print_json({"total": total, "items": found})
        return
    table = Table(title=f"{total:,} customer(s)" + (f" matching {q!r}" if q else ""))
    for heading in ("id", "name", "city", "phone", "e-mail"):
        table.add_column(heading)
    for row in found:
        table.add_row(
            str(row["id"]), row["name"], row["city"], row["phone"] or "", row["email"] or ""
        )
    console.print(table)


@customers_app.command("show")
def show_command(customer_id: IdArgument, as_user: AsOption = None) -> None:
    """Print one customer's record as JSON."""
    with _acting(as_user, "customers", "read") as (session, actor):
        customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
        _print_json(customer_service.to_read(customer).model_dump(mode="json"))


@customers_app.command("duplicates")
def duplicates_command(
    customer_id: Annotated[
        int | None, typer.Option("--customer", help="Only duplicates of this customer", min=1)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 100,
    as_user: AsOption = None,
) -> None:
    """Likely duplicates among the customers you may see: same phone or e-mail, same or similar
    name in the same city."""
    with _acting(as_user, "customers", "read") as (session, actor):
        pairs = dedupe.find(session=session, actor=actor, customer_id=customer_id, limit=limit)
        table = Table(title=f"{len(pairs)} likely duplicate pair(s)")
        for heading in ("first", "second", "why", "score"):
            table.add_column(heading)
        for pair in pairs:
            table.add_row(
                str(pair.first_id),
                str(pair.second_id),
                ", ".join(sorted(pair.reasons)),
                str(pair.score),
            )
    console.print(table)


@customers_app.command("merge")
def merge_command(
    survivor_id: Annotated[int, typer.Argument(help="The customer that stays", min=1)],
    other_id: Annotated[int, typer.Argument(help="The customer merged into it", min=1)],
    take: Annotated[
        list[str] | None,
        typer.Option("--take", help="Take this field's value from the other record (repeatable)"),
    ] = None,
    as_user: AsOption = None,
) -> None:
    """Merge OTHER into SURVIVOR: empty fields are filled from OTHER, phones, e-mails, tags and
    related records move over; OTHER stays, marked as merged. Audited with what came from where."""
    choices: dict[str, merge.Side] = {name: "other" for name in take or []}
    with _acting(as_user, "customers", "delete") as (session, actor):
        survivor = merge.merge(
            session=session,
            actor=actor,
            survivor_id=survivor_id,
            other_id=other_id,
            choices=choices,
        )
        console.print(
            f"Merged customer {other_id} into {survivor.id} ({survivor.name})",
            markup=False,
            highlight=False,
        )


@customers_app.command("personal-data")
def personal_data_command(
    customer_id: IdArgument,
    output: Annotated[Path, typer.Option("-o", "--output", help="JSON file to write")],
    as_user: AsOption = None,
) -> None:
    """Write everything held about one customer to a JSON file (a data-subject access request)."""
    with _acting(as_user, "customers", "export") as (session, actor):
        customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
        document = privacy.personal_data(session=session, actor=actor, customer=customer)
        text = json.dumps(document, ensure_ascii=False, indent=2, default=str)
        write_whole(output, [text.encode()])
    console.print(f"Wrote customer {customer_id}'s personal data to {output}", markup=False)


@customers_app.command("erase")
def erase_command(
    customer_id: IdArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do it without asking")] = False,
    as_user: AsOption = None,
) -> None:
    """Anonymise one customer's personal fields for good, keeping business records."""
    if not yes and not typer.confirm(f"Erase customer {customer_id}'s personal data for good?"):
        raise CliError("nothing was erased")
    with _acting(as_user, "customers", "delete") as (session, actor):
        customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
        privacy.erase(session=session, actor=actor, customer=customer)
    console.print(f"Customer {customer_id}'s personal data is erased", markup=False)
