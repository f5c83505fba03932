"""Helpers for the report tests: scores written as a run writes them, a sales role that may read
and export reports (the built-in sales role may not), and the text of a reportlab PDF.

``pdf_text`` reads what a viewer would show: it inflates the page streams and decodes the strings
shown with each font, UTF-16 for the CID font (STSong-Light, encoding UniGB-UCS2-H) and Latin-1
for the others, so a test can look for Chinese and English words without a PDF library."""

from __future__ import annotations

import base64
import datetime as dt
import re
import zlib

from sqlalchemy.orm import Session

from guanxi.analytics.models import AnalysisRun
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import RoleCreate
from tests.analytics.scores_support import END, stored_run, stored_score


def scoring_run(session: Session, **fields: object) -> AnalysisRun:
    values: dict[str, object] = {
        "data_from": dt.date(2025, 1, 1),
        "data_to": END,
        "parameters": {"clv": {"horizon_days": 365}, "churn_high_risk": 0.6},
        "diagnostics": {"bgnbd": {"r": 0.24}},
    }
    return stored_run(session, **(values | fields))


def score(session: Session, run: AnalysisRun, customer_id: int, **fields: object) -> None:
    stored_score(session, run, customer_id, **({"next_action": ""} | fields))


def reporting_sales_role(session: Session, name: str = "sales_reports") -> str:
    """A sales role (own customers only) that may also read and export reports."""
    auth_service.create_role(
        session=session,
        role_in=RoleCreate(
            name=name,
            label="Sales with reports",
            record_scope="own",
            permissions={
                "customers": ["read"],
                "analytics": ["read"],
                "reports": ["read", "export"],
            },
        ),
    )
    return name


_STREAM = re.compile(rb"\bstream\r?\n(.*?)endstream", re.S)
_TOKENS = re.compile(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\)", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    index = 0
    while index < len(raw):
        char = raw[index : index + 1]
        if char != b"\\":
            out += char
            index += 1
            continue
        following = raw[index + 1 : index + 2]
        octal = re.match(rb"[0-7]{1,3}", raw[index + 1 : index + 4])
        if octal:
            out.append(int(octal.group(0), 8))
            index += 1 + len(octal.group(0))
        else:
            out += _ESCAPES.get(following, following)
            index += 2
    return bytes(out)


def _inflate(raw: bytes) -> bytes:
    raw = raw.strip()
    try:
        return zlib.decompress(base64.a85decode(raw.removesuffix(b"~>")))
    except ValueError:
        try:
            return zlib.decompress(raw)
        except zlib.error:
            return raw


def cid_fonts(data: bytes) -> set[str]:
    """The resource names (F2...) of fonts shown through the UCS-2 CID encoding."""
    names = set()
    for body in re.findall(rb"\d+ 0 obj(.*?)endobj", data, re.S):
        found = re.search(rb"/Name /(F\d+)", body)
        if found and b"/Encoding /UniGB-UCS2-H" in body:
            names.add(found.group(1).decode())
    return names


def pdf_text(data: bytes) -> str:
    """Every string the pages show, in order, without spacing (for containment tests)."""
    cid = cid_fonts(data)
    pieces: list[str] = []
    for stream in _STREAM.finditer(data):
        content = _inflate(stream.group(1))
        font = ""
        for token in _TOKENS.finditer(content):
            if token.group(1):
                font = token.group(1).decode()
                continue
            text = _unescape(token.group(2))
            pieces.append(
                text.decode("utf-16-be", "replace") if font in cid else text.decode("latin-1")
            )
    return "".join(pieces)
