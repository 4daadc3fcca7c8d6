"""Single sign-on with OpenID Connect, on mozilla-django-oidc: who a signed-in person is, and what the
provider vouched for.

- A person is found by the provider's subject (`iss` + `sub`, `SsoIdentity`), never by email, and made on
  first sign-in (just in time) with no local password.
- The ID token is refused unless its signature, `iss`, `aud`, `exp` and `iat` hold (mozilla-django-oidc
  checks the signature and the nonce only), and unless the userinfo `sub` is the token's.
- Roles follow the provider's groups at every sign-in (portal/sso_roles.py).
- The provider's `amr` claim satisfies two-factor when it names one of SSO_MFA_AMR.
- With SSO_ONLY, local passwords work for superusers only (break-glass).
"""

import logging
import re
from typing import Any
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from billing.models import SsoIdentity
from portal import sso_roles

logger = logging.getLogger(__name__)

# Seconds of clock difference with the provider tolerated on `exp` and `iat`.
CLOCK_LEEWAY_SECONDS = 60
USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


class PasswordBackend(ModelBackend):
    """Django's password check, refused to everyone but superusers while SSO_ONLY is on."""

    def user_can_authenticate(self, user: User | AnonymousUser | None) -> bool:
        if settings.SSO_ONLY and not getattr(user, "is_superuser", False):
            return False
        return super().user_can_authenticate(user)


def mfa_from_provider(id_token_claims: dict[str, Any]) -> bool:
    """Whether the provider says it asked for a second factor: an `amr` value in SSO_MFA_AMR."""
    methods = id_token_claims.get("amr") or []
    if isinstance(methods, str):
        methods = [methods]
    return bool({str(method) for method in methods} & set(settings.SSO_MFA_AMR))


def groups_in(claims: dict[str, Any]) -> list[str]:
    """The values of SSO_ROLES_CLAIM (a list, or one string; absent: none)."""
    value = claims.get(settings.SSO_ROLES_CLAIM)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return sorted({str(item) for item in values})


class ProviderBackend(OIDCAuthenticationBackend):
    """The callback's authentication: the code exchanged, the ID token checked, the person found or made,
    their roles brought in line with their groups. Answers nothing while single sign-on is off."""

    def authenticate(  # type: ignore[override]  # the callback passes nonce and code_verifier only
        self, request: HttpRequest | None, **kwargs: Any
    ) -> User | None:
        if not settings.SSO_ENABLED:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return super().verify_token(token, **kwargs)
        except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
            raise SuspiciousOperation(f"the ID token is not valid ({type(exc).__name__})") from None

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        algorithm = jwt.get_unverified_header(payload).get("alg")
        if algorithm != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(
                f"the ID token is signed with {algorithm!r}, not {self.OIDC_RP_SIGN_ALGO}"
            )
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise SuspiciousOperation("the ID token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"the ID token is not valid ({exc})") from None

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub"))

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User | None:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("the userinfo answer is about another subject than the ID token")
        claims = {**userinfo, **payload}
        with transaction.atomic():
            identity = _identity_for(claims) or _new_person(claims)
            user = identity.user
            groups = groups_in(userinfo) or groups_in(payload)
            sso_roles.apply(user, groups)
            identity.last_groups = groups
            identity.last_signed_in_at = timezone.now()
            identity.save(update_fields=["last_groups", "last_signed_in_at"])
        # Read by the callback view (portal/sso_views.py) once Django has signed the person in.
        user.sso_mfa = mfa_from_provider(payload)  # type: ignore[attr-defined]
        user.sso_auth_time = payload.get("auth_time")  # type: ignore[attr-defined]
        user.sso_groups = groups  # type: ignore[attr-defined]
        return user


def _identity_for(claims: dict[str, Any]) -> SsoIdentity | None:
    found = SsoIdentity.objects.select_related("user").filter(
        issuer=settings.OIDC_OP_ISSUER, subject=claims["sub"]
    )
    return found.first()


def _new_person(claims: dict[str, Any]) -> SsoIdentity:
    """A portal user for a subject seen for the first time: no password, no role until the mapping grants
    one. The username comes from `preferred_username` (else the email), made unique."""
    wanted = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])
    user = User(username=_free_username(wanted), email=str(claims.get("email") or ""))
    user.first_name = str(claims.get("given_name") or "")[:150]
    user.last_name = str(claims.get("family_name") or "")[:150]
    user.set_unusable_password()
    user.save()
    logger.info("single sign-on: new person %s for subject %s", user.username, claims["sub"])
    return SsoIdentity.objects.create(user=user, issuer=settings.OIDC_OP_ISSUER, subject=claims["sub"])


def _free_username(wanted: str) -> str:
    # Never an existing local user's name: a provider's user named "admin" must not become the portal's.
    base = USERNAME_UNSAFE.sub("-", wanted)[:140] or "sso-user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def provider_logout_url(request: HttpRequest) -> str | None:
    """Where to end the provider's session too (its end_session_endpoint), when it has one and this session
    came from it; then the provider sends the browser back to the portal's log-in page."""
    id_token = request.session.get("oidc_id_token")
    if not (settings.SSO_ENABLED and settings.OIDC_OP_LOGOUT_ENDPOINT and id_token):
        return None
    back = request.build_absolute_uri(resolve_url("login"))
    query = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": back,
        "client_id": settings.OIDC_RP_CLIENT_ID,
    }
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{urlencode(query)}"
