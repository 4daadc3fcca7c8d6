"""Configuration: every variable documented, production needs its secrets, deploy check clean."""

import os
import re
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.support.paths import ROOT


def _settings_variables() -> set[str]:
    source = "".join(path.read_text() for path in sorted((ROOT / "portal").glob("settings*.py")))
    return set(re.findall(r'(?:env\.\w+|env|secret)\(\s*"([A-Z][A-Z0-9_]+)"', source))


def test_every_setting_is_in_env_example():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    variables = _settings_variables()
    assert len(variables) > 40
    assert variables - documented == set()


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TOKEN_ENCRYPTION"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.process
def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


@pytest.mark.process
def test_production_refuses_to_start_without_token_encryption_keys():
    result = _manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEYS must be set" in result.stderr


@pytest.mark.process
def test_deploy_check_is_clean_in_production_mode():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="k" * 20 + "-Q9x!" + "z" * 40,
        TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_every_setting_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = {name for name in _settings_variables() if f"`{name}`" not in readme}
    assert missing == set()


@pytest.mark.process
def test_the_file_system_broker_keeps_its_exchange_table_under_its_folder(tmp_path):
    # kombu's file-system transport writes `control/<exchange>.exchange` relative to the working directory
    # unless told otherwise; run from another folder, nothing may land there.
    declare = (
        "import django; django.setup()\n"
        "from kombu import Exchange, Queue\n"
        "from portal.celery import app\n"
        "with app.connection_for_write() as connection:\n"
        "    Queue('celery', Exchange('celery'), 'celery')(connection.default_channel).declare()\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "REDIS_"))}
    env = {**clean, "DJANGO_SETTINGS_MODULE": "portal.settings", "PYTHONPATH": str(ROOT)}
    env.update(CELERY_BROKER_URL="filesystem://", CELERY_BROKER_DIR=str(tmp_path / "broker"))
    result = subprocess.run(
        [sys.executable, "-c", declare], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "broker" / "control" / "celery.exchange").exists()
    assert not (tmp_path / "control").exists()
