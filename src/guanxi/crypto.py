"""Encryption of sensitive personal fields at rest (AES-256-GCM) and blind indexes for exact lookup.

Keys live in ``<data dir>/field_keys.json`` (created on first use, mode 0600) or in
``GUANXI_FIELD_KEYS_FILE``. The file holds several encryption keys, the id of the current one, and
a separate blind-index key:

    {"current": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}, "index_key": "<base64>"}

Ciphertexts name the key that made them (``v1:k2:<base64 nonce+ciphertext>``), so after a new key
becomes current, old values still decrypt and ``guanxi keys rotate`` re-encrypts them at leisure.
The blind index is an HMAC-SHA256 of the normalised value under the index key; it never rotates
with the encryption keys, so exact lookups keep working during and after a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from guanxi.config import Settings

FORMAT_VERSION = "v1"
_NONCE_BYTES = 12


class KeyFileError(Exception):
    """The key file is missing a key a stored value needs, or a value was tampered with."""


@dataclass(frozen=True)
class FieldKeys:
    current: str
    keys: dict[str, bytes]
    index_key: bytes

    @classmethod
    def generate(cls) -> FieldKeys:
        return cls("k1", {"k1": AESGCM.generate_key(bit_length=256)}, secrets.token_bytes(32))

    def to_json(self) -> str:
        return json.dumps(
            {
                "current": self.current,
                "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
                "index_key": base64.b64encode(self.index_key).decode(),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> FieldKeys:
        data = json.loads(text)
        keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
        if data["current"] not in keys:
            raise KeyFileError(f"the current key {data['current']!r} is not in the key file")
        return cls(data["current"], keys, base64.b64decode(data["index_key"]))

    def with_new_key(self) -> FieldKeys:
        """The same keys plus a new current one (old keys stay, to decrypt old values)."""
        number = 1 + max(int(k[1:]) for k in self.keys if k[1:].isdigit())
        key_id = f"k{number}"
        return FieldKeys(
            key_id, {**self.keys, key_id: AESGCM.generate_key(bit_length=256)}, self.index_key
        )


def key_file(settings: Settings) -> Path:
    configured = os.environ.get("GUANXI_FIELD_KEYS_FILE")
    return Path(configured) if configured else settings.data_dir / "field_keys.json"


def load_keys(settings: Settings) -> FieldKeys:
    path = key_file(settings)
    if path.exists():
        return FieldKeys.from_json(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = FieldKeys.generate()
    save_keys(path, keys, create=True)
    return keys


def save_keys(path: Path, keys: FieldKeys, *, create: bool = False) -> None:
    # written to a new file with 0600 and renamed over, so a crash never leaves half a key file
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(keys.to_json())
    if create and path.exists():
        temporary.unlink()
        return
    temporary.replace(path)


class FieldCipher:
    """Encrypts and decrypts field values and computes their blind index."""

    def __init__(self, keys: FieldKeys) -> None:
        self.keys = keys

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        key = self.keys.keys[self.keys.current]
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), FORMAT_VERSION.encode())
        return f"{FORMAT_VERSION}:{self.keys.current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> str:
        version, key_id, payload = token.split(":", 2)
        if version != FORMAT_VERSION or key_id not in self.keys.keys:
            raise KeyFileError(f"no key {key_id!r} for a stored value; restore the key file")
        raw = base64.b64decode(payload)
        try:
            plain = AESGCM(self.keys.keys[key_id]).decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], version.encode()
            )
        except InvalidTag as exc:
            raise KeyFileError("a stored value was altered or belongs to another key") from exc
        return plain.decode()

    def needs_rotation(self, token: str) -> bool:
        return token.split(":", 2)[1] != self.keys.current

    def blind_index(self, normalised: str) -> str:
        return hmac.new(self.keys.index_key, normalised.encode(), hashlib.sha256).hexdigest()


_cipher: FieldCipher | None = None


def configure(settings: Settings) -> FieldCipher:
    """Load (or create) the keys for this process; the app, the CLI and jobs call this at start."""
    global _cipher
    _cipher = FieldCipher(load_keys(settings))
    return _cipher


def cipher() -> FieldCipher:
    if _cipher is None:
        raise RuntimeError("field encryption is not configured; call guanxi.crypto.configure")
    return _cipher
