"""Signatures that the official Standard Webhooks library accepts, and that it refuses when
anything signed is changed."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from guanxi.webhooks import signing

BODY = '{"type":"order.created","timestamp":"2026-11-23T08:00:00+00:00","data":{"总额":"1234.50"}}'


def _headers(secret: str, message_id: str = "msg_1", timestamp: int | None = None) -> dict:
    now = int(time.time()) if timestamp is None else timestamp
    return signing.signed_headers(secret, message_id=message_id, timestamp=now, body=BODY)


def test_a_generated_secret_is_standard_and_unique():
    first, second = signing.generate_secret(), signing.generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32  # 24..64 per the spec


def test_the_official_library_verifies_our_signature():
    secret = signing.generate_secret()
    payload = Webhook(secret).verify(BODY, _headers(secret))
    assert payload["data"] == {"总额": "1234.50"}


def test_our_signature_equals_the_official_librarys():
    secret = signing.generate_secret()
    at = 1_774_000_000
    ours = signing.sign(secret, message_id="msg_abc", timestamp=at, body=BODY)
    theirs = Webhook(secret).sign("msg_abc", datetime.fromtimestamp(at, tz=UTC), BODY)
    assert ours == theirs


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret"])
def test_a_changed_message_or_key_fails_verification(tamper: str):
    secret = signing.generate_secret()
    headers = _headers(secret)
    body = BODY
    if tamper == "body":
        body = BODY.replace("1234.50", "9234.50")
    elif tamper == "id":
        headers["webhook-id"] = "msg_2"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    else:
        secret = signing.generate_secret()
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_a_stale_timestamp_is_refused_so_each_attempt_signs_afresh():
    secret = signing.generate_secret()
    ten_minutes_ago = int(time.time()) - 600
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, _headers(secret, timestamp=ten_minutes_ago))


def test_a_malformed_secret_is_refused():
    with pytest.raises(ValueError):
        signing.secret_key("whsec_not base64!")
    with pytest.raises(ValueError):
        signing.secret_key("whsec_")
