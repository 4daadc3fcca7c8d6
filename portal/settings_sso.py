"""Settings of single sign-on (OpenID Connect through mozilla-django-oidc; portal/sso.py), read from the
environment like the rest of `portal.settings`, which imports them. Every variable is in `.env.example`."""

from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()  # portal.settings has read .env into the environment before importing this module

# --- Single sign-on (OpenID Connect, mozilla-django-oidc; portal/sso.py) -------------------------
# Off unless a client id is set. The provider's endpoints are given one by one (its discovery document,
# /.well-known/openid-configuration, lists them), so start-up never waits on the provider.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile groups")
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=5)
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # kept in the session only to end the provider's session at sign-out
OIDC_AUTHENTICATE_CLASS = "portal.sso_views.SignInAtProvider"
OIDC_CALLBACK_CLASS = "portal.sso_views.ProviderCallback"
LOGIN_REDIRECT_URL_FAILURE = "login"
# The claim whose values (a list, or one string) are matched against the groups → roles mapping.
SSO_ROLES_CLAIM = env.str("SSO_ROLES_CLAIM", default="groups")
# `amr` values that mean the provider itself asked for a second factor: then the portal does not ask again.
SSO_MFA_AMR = env.list("SSO_MFA_AMR", default=["mfa", "otp", "hwk", "swk", "sms"])
# Local passwords off for everyone but superusers (the break-glass accounts, still with two-factor).
SSO_ONLY = env.bool("SSO_ONLY", default=False)
SSO_BUTTON_LABEL = env.str("SSO_BUTTON_LABEL", default="Sign in with single sign-on")


def sso_form_targets(logout_endpoint: str) -> list[str]:
    """The provider's origin, which the sign-out form's redirect goes to (CSP form-action), if any."""
    parts = urlsplit(logout_endpoint)
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


if SSO_ENABLED:
    _missing = [
        name
        for name in (
            "OIDC_OP_ISSUER",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
        )
        if not globals()[name]
    ]
    if _missing:
        raise ImproperlyConfigured(f"Single sign-on needs {', '.join(_missing)} (OIDC_RP_CLIENT_ID is set).")

# Sign-out's form is answered with a redirect to the provider's end_session_endpoint (CSP form-action).
SSO_FORM_TARGETS = sso_form_targets(OIDC_OP_LOGOUT_ENDPOINT) if SSO_ENABLED else []
