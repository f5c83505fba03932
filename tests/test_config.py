"""Bad configuration stops start-up with one clear line that names the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from guanxi.config import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("GUANXI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("GUANXI_DATA_DIR", str(tmp_path))


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("GUANXI_TIMEZONE", "Mars/Olympus", "GUANXI_TIMEZONE"),
        ("GUANXI_DATABASE_URL", "mysql://root@localhost/crm", "GUANXI_DATABASE_URL"),
        ("GUANXI_DATABASE_URL", "not a url at all", "GUANXI_DATABASE_URL"),
        ("GUANXI_DEFAULT_LOCALE", "fr", "GUANXI_DEFAULT_LOCALE"),
        ("GUANXI_SESSION_MAX_AGE_HOURS", "0", "GUANXI_SESSION_MAX_AGE_HOURS"),
        ("GUANXI_SECRET_KEY", "short", "GUANXI_SECRET_KEY"),
        ("GUANXI_CURRENCY", "yuan", "GUANXI_CURRENCY"),
    ],
)
def test_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert named in message and "\n" not in message


def test_database_password_is_not_echoed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GUANXI_DATABASE_URL", "oracle://scott:tiger@db/crm")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "tiger" not in str(caught.value)


def test_defaults_give_an_embedded_sqlite_store(tmp_path: Path):
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'guanxi.sqlite3'}"
    assert settings.timezone == "Asia/Shanghai" and settings.default_locale == "zh_CN"


def test_postgres_urls_use_psycopg_3(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GUANXI_DATABASE_URL", "postgresql://crm@db.internal/guanxi")
    assert load_settings().database_url.startswith("postgresql+psycopg://")


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path):
    first = load_settings().resolved_secret_key()
    again = load_settings().resolved_secret_key()
    assert first == again and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_config_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    config = tmp_path / "guanxi.toml"
    config.write_text('timezone = "Europe/Berlin"\ndefault_locale = "en"\n')
    monkeypatch.setenv("GUANXI_CONFIG_FILE", str(config))
    settings = load_settings()
    assert settings.timezone == "Europe/Berlin" and settings.default_locale == "en"


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("GUANXI_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(SettingsError, match="GUANXI_CONFIG_FILE"):
        load_settings()


def test_cli_prints_one_line_and_no_traceback(tmp_path: Path):
    env = {**os.environ, "GUANXI_DATA_DIR": str(tmp_path), "GUANXI_TIMEZONE": "Mars/Olympus"}
    env = {
        k: v
        for k, v in env.items()
        if not k.startswith("GUANXI_") or k in ("GUANXI_DATA_DIR", "GUANXI_TIMEZONE")
    }
    result = subprocess.run(
        [sys.executable, "-m", "guanxi", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["guanxi: invalid setting GUANXI_TIMEZONE: unknown time zone 'Mars/Olympus'"]
