"""Nightly check of the audit chain, so tampering is noticed even if nobody runs the CLI."""

from __future__ import annotations

import logging

from guanxi.audit import service as audit_service
from guanxi.jobs import JobContext, periodic

log = logging.getLogger("guanxi.audit")


@periodic(minute="30", hour="2")
def verify_audit_chain(ctx: JobContext) -> None:
    with ctx.db.unit_of_work() as session:
        report = audit_service.verify(session=session)
    if report.intact:
        log.info("audit chain intact (%d entries)", report.checked)
    else:
        assert report.problem is not None
        log.error(
            "AUDIT CHAIN BROKEN at entry %d: %s", report.problem.entry_id, report.problem.reason
        )
