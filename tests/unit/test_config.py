"""Settings: one clear line per bad variable, embedded defaults, a README listing them all."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from boxoffice.config import ConfigurationError, Environment, Settings, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


class TestLoadSettings:
    def test_embedded_defaults(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in list(os.environ):
            if name.startswith("BOXOFFICE_"):
                monkeypatch.delenv(name)
        settings = load_settings(var_dir=tmp_path)
        assert settings.env is Environment.DEVELOPMENT
        assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'boxoffice.db'}"
        assert (settings.host, settings.port) == ("127.0.0.1", 8000)
        assert settings.redis_url == ""

    def test_embedded_secret_key_is_generated_once_and_kept(self, tmp_path: Path) -> None:
        first = load_settings(var_dir=tmp_path).secret_key
        second = load_settings(var_dir=tmp_path).secret_key
        assert first == second
        assert len(first) >= 32
        assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("BOXOFFICE_PORT", "eighty"),
            ("BOXOFFICE_PORT", "70000"),
            ("BOXOFFICE_DATABASE_URL", "mysql://localhost/x"),
            ("BOXOFFICE_REDIS_URL", "http://localhost"),
            ("BOXOFFICE_RATE_LIMIT_LOGIN", "ten per minute"),
            ("BOXOFFICE_LOG_LEVEL", "loud"),
            ("BOXOFFICE_ENV", "staging"),
            ("BOXOFFICE_SECRET_KEY", "short"),
        ],
    )
    def test_a_bad_value_names_its_variable(
        self, variable: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(variable, value)
        with pytest.raises(ConfigurationError) as raised:
            load_settings(var_dir=tmp_path)
        message = str(raised.value)
        assert message.startswith(variable)
        assert "\n" not in message

    def test_production_requires_a_secret_key(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("BOXOFFICE_SECRET_KEY", raising=False)
        monkeypatch.setenv("BOXOFFICE_ENV", "production")
        with pytest.raises(ConfigurationError, match="BOXOFFICE_SECRET_KEY"):
            load_settings(var_dir=tmp_path)
        assert not (tmp_path / "secret_key").exists()

    def test_lists_are_comma_separated(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("BOXOFFICE_CORS_ORIGINS", "https://a.example, https://b.example")
        assert load_settings(var_dir=tmp_path).cors_origins == [
            "https://a.example",
            "https://b.example",
        ]


class TestReadme:
    def test_every_setting_is_documented(self) -> None:
        documented = set(re.findall(r"`(BOXOFFICE_[A-Z_]+)`", README.read_text()))
        variables = {f"BOXOFFICE_{name.upper()}" for name in Settings.model_fields}
        assert variables - documented == set()
