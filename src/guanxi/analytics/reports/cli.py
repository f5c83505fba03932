"""``guanxi reports``: the analysis report from the command line."""

from __future__ import annotations

import typer

reports_app = typer.Typer(help="Analysis reports (分析与报告)", no_args_is_help=True)


@reports_app.command("send-summary")
def send_summary_command() -> None:
    """Mail this week's management summary now to every manager and administrator with an
    e-mail address who has not had it yet (the job does it on Mondays from 08:00)."""
    from guanxi import mail
    from guanxi.analytics.reports import weekly
    from guanxi.cli_support import CliError, console, database, settings

    current = settings()
    db = database(current)
    try:
        with db.sessions() as session:
            if not mail.enabled(mail.effective_settings(session, current)):
                raise CliError("e-mail is off: set GUANXI_SMTP_HOST or the admin's mail settings")
        report = weekly.send_summaries(current, db)
    finally:
        db.dispose()
    console.print(f"summaries written: {report.mailings}, e-mails: {report.emails}")
