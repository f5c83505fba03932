"""An import run's report: the refused rows (file row number, column, reason, then the row as it
was) and the possible duplicates, kept per batch while the run goes and joined when it ends.

A batch's part is written before the batch commits and replaced whole if the batch is redone
after a crash, so the report never lists a row twice. Reasons are stored as message templates
with their values and worded in the reader's language when the report is read.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from guanxi.customers.models import ImportRun
from guanxi.customers.transfer.file_formats import SourceRow
from guanxi.customers.transfer.import_rows import RowError
from guanxi.errors import N_


def parts_dir(report_path: str | Path) -> Path:
    return Path(str(report_path) + ".parts")


def drop_parts_from(report_path: str, start: int) -> None:
    """Forget the report of batches from ``start`` on: they never committed and are about to
    be redone."""
    directory = parts_dir(report_path)
    if directory.is_dir():
        for part in directory.glob("*.jsonl"):
            if int(part.stem) >= start:
                part.unlink()


def write_part(
    report_path: str,
    columns: Sequence[str],
    start: int,
    batch: Sequence[SourceRow],
    problems: list[RowError],
) -> None:
    """The batch's report lines, written before its transaction commits (atomically: a redone
    batch replaces its part, never appends to it)."""
    if not problems:
        return
    by_number = {row.number: row for row in batch}
    directory = parts_dir(report_path)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{start:012d}.jsonl"
    temporary = target.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for problem in sorted(problems, key=lambda p: p.row):
            source = by_number.get(problem.row)
            values = [source.values.get(c, "") for c in columns] if source else []
            line = {
                "row": problem.row,
                "field": problem.field,
                "message": problem.message,
                "params": problem.params,
                "values": values,
            }
            handle.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    os.replace(temporary, target)


def join(target: Path) -> None:
    """The parts of a finished run as one report file."""
    directory = parts_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    with temporary.open("wb") as joined:
        if directory.is_dir():
            for part in sorted(directory.glob("*.jsonl")):
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, joined)
    os.replace(temporary, target)
    shutil.rmtree(directory, ignore_errors=True)


def report_lines(run: ImportRun) -> Iterator[dict[str, Any]]:
    """The report of a finished run: one dict per refused cell or row, in file order. (The file
    exists once the run has finished; until then its parts are not a report yet.)"""
    path = Path(run.error_report_path)
    return _read_report(path) if path.is_file() else iter(())


def _read_report(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def report_rows(
    run: ImportRun, translate: Callable[[str, dict[str, Any]], str]
) -> tuple[list[str], Iterator[list[str]]]:
    """The report as a table (row, field, reason, then the file's own columns), its reasons
    worded by ``translate``. Reads the run now, the report file as it is iterated."""
    header = [translate(N_("Row"), {}), translate(N_("Field"), {}), translate(N_("Reason"), {})]
    columns = list(run.mapping["columns"])
    lines = report_lines(run)

    def rows() -> Iterator[list[str]]:
        for line in lines:
            reason = translate(line["message"], line["params"])
            yield [str(line["row"]), line["field"], reason, *line["values"]]

    return header + columns, rows()
