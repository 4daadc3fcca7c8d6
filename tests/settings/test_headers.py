"""Security headers: a strict Content-Security-Policy and a Permissions-Policy on every response, and pages
that need nothing the policy forbids (no inline script or style)."""

import re

import pytest
from django.urls import reverse

from tests.support.paths import ROOT


def _directives(header: str) -> dict[str, set[str]]:
    parts = [part.strip().split() for part in header.split(";") if part.strip()]
    return {name: set(values) for name, *values in parts}


@pytest.mark.parametrize("path", ["/login/", "/healthz"])
def test_every_response_has_a_strict_content_security_policy(client, db, path):
    policy = _directives(client.get(path)["Content-Security-Policy"])
    assert policy["default-src"] == {"'self'"}
    assert policy["script-src"] == {"'self'"}
    assert policy["style-src"] == {"'self'"}
    assert policy["object-src"] == {"'none'"}
    assert policy["frame-ancestors"] == {"'none'"}
    assert policy["form-action"] == {"'self'"}
    assert policy["base-uri"] == {"'self'"}
    assert not any("unsafe" in value for values in policy.values() for value in values)


def test_signed_in_pages_carry_the_policies(client, manager, account):
    client.force_login(manager)
    response = client.get(reverse("account", args=[account.cloudflare_id]))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions


def test_templates_have_no_inline_script_or_style():
    pages = [p for p in (ROOT / "templates").rglob("*.html") if "emails" not in p.parts]
    assert pages
    for page in pages:
        html = page.read_text()
        assert not re.search(r"\sstyle=", html), page
        assert "<style" not in html, page
        assert not re.search(r"<script(?![^>]*\ssrc=)", html), page
        assert not re.search(r"\son[a-z]+=", html), page
