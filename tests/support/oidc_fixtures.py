"""A real OpenID provider on loopback (node's oidc-provider, OpenID Certified) and the portal pointed at it.

- `oidc_provider` (session): installs oidc-provider@OIDC_PROVIDER_VERSION with npm into a cache outside the
  checkout, keyed by version (as the Makefile caches uv), and runs tests/support/oidc_provider.mjs on a free
  loopback port. Its test users (`USERS`) are read from a file at every sign-in: `set_user` changes one.
- `sso` (per test): the portal's single sign-on settings pointed at that provider, the users as in `USERS`.
- `sign_in_at_provider(client, provider, username)`: a person's browser through the provider's pages with
  `requests`, for tests that drive the portal with Django's test client; returns the callback URL.
"""

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from django.urls import reverse

from portal.settings_sso import sso_form_targets
from tests.support.clock import wait_for
from tests.support.paths import ROOT

OIDC_PROVIDER_VERSION = "8.8.1"  # 9.x needs node 22; the machines have node 20
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aigateway-billing-portal"
SCRIPT = ROOT / "tests" / "support" / "oidc_provider.mjs"
CLIENT_ID, CLIENT_SECRET = "billing-portal", "a-client-secret-for-the-tests-only"
TEST_CLIENT_CALLBACK = "http://testserver/oidc/callback/"
USERS = {
    "ana": {
        "password": "ana-pass-2026",
        "email": "ana@corp.test",
        "groups": ["billing-admins"],
        "amr": ["pwd", "mfa"],
    },
    "ben": {"password": "ben-pass-2026", "email": "ben@corp.test", "groups": ["finance"], "amr": ["pwd"]},
}


def installed_provider() -> Path:
    """oidc-provider's entry module, installed once per version into the shared cache."""
    home = CACHE / f"oidc-provider-{OIDC_PROVIDER_VERSION}"
    entry = home / "node_modules" / "oidc-provider" / "lib" / "index.js"
    if not entry.exists():
        staging = home.with_name(home.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / "package.json").write_text('{"private": true}\n')
        command = ["npm", "install", "--no-audit", "--no-fund", f"oidc-provider@{OIDC_PROVIDER_VERSION}"]
        subprocess.run(command, cwd=staging, check=True, capture_output=True, timeout=300)
        shutil.rmtree(home, ignore_errors=True)
        staging.rename(home)
    return entry


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Provider:
    def __init__(self, users_file: Path, port: int) -> None:
        self.users_file = users_file
        self.issuer = f"http://127.0.0.1:{port}"
        self.discovery: dict = {}

    def reset_users(self) -> None:
        self.users_file.write_text(json.dumps(USERS))

    def set_user(self, username: str, **fields) -> None:
        users = json.loads(self.users_file.read_text())
        users[username] = {**users.get(username, {}), **fields}
        self.users_file.write_text(json.dumps(users))

    def is_up(self) -> bool:
        try:
            answer = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2)
        except requests.ConnectionError:
            return False
        self.discovery = answer.json()
        return answer.ok


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("oidc")
    port = free_port()
    provider = Provider(folder / "users.json", port)
    provider.reset_users()
    env = {
        **os.environ,
        "OIDC_PROVIDER_MODULE": str(installed_provider()),
        "PORT": str(port),
        "USERS_FILE": str(provider.users_file),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": f"{TEST_CLIENT_CALLBACK},{live_server.url}/oidc/callback/",
        "POST_LOGOUT_URIS": f"http://testserver/login/,{live_server.url}/login/",
    }
    log = (folder / "provider.log").open("w")
    process = subprocess.Popen(["node", str(SCRIPT)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(provider.is_up, timeout=60, message=f"oidc-provider on {provider.issuer} (log: {log.name})")
        yield provider
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def sso(oidc_provider, settings):
    """Single sign-on on, against the provider; its users as in USERS."""
    found = oidc_provider.discovery
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.SSO_ENABLED = True
    settings.OIDC_OP_ISSUER = found["issuer"]
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = found["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = found["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = found["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = found["jwks_uri"]
    settings.OIDC_OP_LOGOUT_ENDPOINT = found["end_session_endpoint"]
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    form_action = [*directives["form-action"], *sso_form_targets(found["end_session_endpoint"])]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**directives, "form-action": form_action}}
    oidc_provider.reset_users()
    return oidc_provider


FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


def sign_in_at_provider(
    client, provider: Provider, username: str, browser: requests.Session | None = None
) -> str:
    """Starts single sign-on with `client`, signs in at the provider as `username` when it asks (with
    `browser`, a requests session keeping the provider's cookies); returns the portal's callback URL."""
    browser = browser or requests.Session()
    start = client.get(reverse("oidc_authentication_init"))
    assert start.status_code == 302, start
    return through_provider(browser, provider, start["Location"], username)


def through_provider(browser: requests.Session, provider: Provider, url: str, username: str) -> str:
    """Follows the provider's pages from `url`, signing in on its form, until it sends the browser back to
    the portal; returns that address."""
    password = json.loads(provider.users_file.read_text())[username]["password"]
    for _ in range(10):
        if url.startswith("http://testserver/"):
            return url
        answer = browser.get(urljoin(provider.issuer, url), allow_redirects=False, timeout=10)
        if answer.status_code == 200:
            action = FORM_ACTION.search(answer.text)
            assert action, answer.text
            form = {"login": username, "password": password}
            answer = browser.post(
                urljoin(answer.url, action.group(1)), form, allow_redirects=False, timeout=10
            )
        assert answer.is_redirect, (answer.status_code, answer.text)
        url = answer.headers["Location"]
    raise AssertionError("the provider never sent the browser back to the portal")
