"""Service desk commands: `guanxi portal link` hands an operator a customer's one-time portal
sign-in link (when the customer's mail does not arrive, or in the demo, which has no mail
server); `guanxi service sla-scan` runs the SLA scan at once."""

from __future__ import annotations

from typing import Annotated

import typer

portal_app = typer.Typer(help="The customer self-service portal", no_args_is_help=True)


@portal_app.command("link")
def link_command(
    address: Annotated[str, typer.Argument(help="An e-mail address on the customer's record")],
) -> None:
    """Print a one-time sign-in link to the portal for each customer with ADDRESS (audited)."""
    from guanxi.cli_support import CliError, console, database, settings, unit_of_work
    from guanxi.errors import GuanxiError
    from guanxi.service_desk.portal import auth

    current = settings()
    db = database(current)
    try:
        with unit_of_work(db) as session:
            links = auth.issue_links(session, settings=current, address=address)
    except GuanxiError as exc:
        raise CliError(f"{address}: {exc.detail}") from None
    finally:
        db.dispose()
    if not links:
        raise CliError(f"{address}: no customer has this e-mail address on their record")
    console.print(f"Each link works once, for {auth.LINK_MINUTES} minutes:")
    for customer_id, url in links:
        # plain output, so a long link is never wrapped and can be copied whole
        typer.echo(f"customer {customer_id}: {url}")


service_app = typer.Typer(help="The service desk", no_args_is_help=True)


@service_app.command("sla-scan")
def sla_scan_command() -> None:
    """Warn of tickets about to miss a target and escalate those that missed one, now (the job
    queue does it every two minutes; each notice is sent once, whichever runs first)."""
    from guanxi.cli_support import console, database, settings
    from guanxi.service_desk import jobs

    current = settings()
    db = database(current)
    try:
        report = jobs.scan(current, db)
    finally:
        db.dispose()
    console.print(
        f"{report.warnings} warnings and {report.escalations} escalations claimed, "
        f"{report.emails} e-mails sent"
    )
