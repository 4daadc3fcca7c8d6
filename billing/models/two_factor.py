"""Two-factor devices whose secrets a database dump does not give away.

django-otp's own TOTP and static devices keep the authenticator key and the recovery codes in clear. These
two device models take their place (django-otp finds every `Device` subclass): the key is encrypted with
TOKEN_ENCRYPTION_KEYS (billing/crypto.py), and a recovery code is kept only as a salted scrypt digest.
"""

import hashlib
import secrets
import time
from base64 import b32encode
from binascii import unhexlify
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import random_hex

from billing import crypto

TOTP_KEY_BYTES = 20
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper and typed back
RECOVERY_CODE_LENGTH = 10  # 31^10: about 49 bits each
RECOVERY_CODE_COUNT = 10


def _throttle_factor() -> int:
    return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))


class Authenticator(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP, RFC 6238: SHA-1, 30 s steps, 6 digits), its key encrypted at rest."""

    key_encrypted = models.TextField(editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    # The time step of the last code accepted: a code is never accepted twice.
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator"

    def set_key(self, hex_key: str) -> None:
        self.key_encrypted = crypto.encrypt_token(hex_key)

    @classmethod
    def new_for(cls, user: Any, *, confirmed: bool = False) -> "Authenticator":
        device = cls(user=user, name="Authenticator", confirmed=confirmed)
        device.set_key(random_hex(TOTP_KEY_BYTES))
        device.save()
        return device

    @property
    def bin_key(self) -> bytes:
        return unhexlify(crypto.decrypt_token(self.key_encrypted).encode())

    def verify_token(self, token: str) -> bool:
        """True for a current code not used before; a wrong code counts towards the throttle."""
        if not self.verify_is_allowed()[0]:
            return False
        totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
        totp.time = time.time()
        matched = _is_ascii_number(token) and totp.verify(int(token), self.tolerance, self.last_t + 1)
        if not matched:
            self.throttle_increment(commit=True)
            return False
        self.last_t = totp.t()
        self.drift = totp.drift
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True

    def get_throttle_factor(self) -> int:
        return _throttle_factor()

    @property
    def config_url(self) -> str:
        """The otpauth:// address an authenticator app reads from the QR code."""
        issuer = str(settings.OTP_TOTP_ISSUER).replace(":", "")
        label = f"{issuer}:{self.user.get_username()}"
        params = {"secret": b32encode(self.bin_key).decode(), "algorithm": "SHA1", "digits": self.digits}
        query = urlencode({**params, "period": self.step}) + f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{query}"


def _is_ascii_number(token: str) -> bool:
    return token.isascii() and token.isdigit()


class RecoveryCodes(ThrottlingMixin, Device):
    """A person's single-use recovery codes, kept as digests (`RecoveryCode`) under one random salt."""

    salt = models.CharField(max_length=64, editable=False, default="")

    class Meta(Device.Meta):
        verbose_name = "recovery codes"
        verbose_name_plural = "recovery codes"

    def replace_codes(self) -> list[str]:
        """New codes in place of every old one; returns them (the only time they are readable)."""
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        self.salt = secrets.token_hex(16)
        self.save(update_fields=["salt"])
        self.codes.all().delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(device=self, digest=self.digest(code)) for code in codes
        )
        return codes

    def digest(self, code: str) -> str:
        return recovery_code_digest(code, self.salt)

    def verify_token(self, token: str) -> bool:
        """True (and the code used up) when `token` is one of the codes left."""
        if not self.verify_is_allowed()[0]:
            return False
        used, _ = self.codes.filter(digest=self.digest(token)).delete()
        if used:
            self.throttle_reset()
        else:
            self.throttle_increment()
        return bool(used)

    def get_throttle_factor(self) -> int:
        return _throttle_factor()


def recovery_code_digest(code: str, salt: str) -> str:
    # scrypt, not a plain hash: codes are short enough that a fast hash of a dump could be brute-forced.
    return hashlib.scrypt(code.encode(), salt=salt.encode(), n=2**13, r=8, p=1, dklen=32).hex()


def new_recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodes, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "digest"], name="one_digest_per_code")]

    def __str__(self) -> str:
        return f"a recovery code of {self.device.user}"  # never the digest


class ProviderSecondFactor(Device):
    """Stands for the identity provider's own second factor, when a single sign-on's `amr` claim says one
    was used (SSO_MFA_AMR): the session is marked verified with it. It accepts no code typed in the portal."""

    class Meta(Device.Meta):
        verbose_name = "identity provider's second factor"

    def verify_token(self, token: str) -> bool:
        return False

    def verify_is_allowed(self) -> tuple[bool, dict | None]:
        return False, None
