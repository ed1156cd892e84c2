"""API tokens: issued once, stored as a hash, with an expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import ApiToken

TOKEN_PREFIX = "qw"
MAX_TOKEN_DAYS = 366


class TokenProblem(models.TextChoices):
    MISSING = "missing", _("No API token was sent. Send 'Authorization: Bearer <token>'.")
    INVALID = "invalid", _("The API token is not valid.")
    EXPIRED = "expired", _("The API token has expired. Create a new one in the console.")
    INACTIVE = "inactive", _("The account that owns this API token is disabled.")


class TokenError(Exception):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(str(problem.label))
        self.problem = problem


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(*, user: Any, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """Return the token and its secret. The secret is not stored and cannot be shown again."""
    lifetime = days if days is not None else settings.QUANWANG_API_TOKEN_DAYS
    if not 1 <= lifetime <= MAX_TOKEN_DAYS:
        raise ServiceError(
            str(_("A token lives 1 to %(max)d days.")) % {"max": MAX_TOKEN_DAYS}, field="days"
        )
    name = name.strip()
    if not name:
        raise ServiceError(str(_("Give the token a name.")), field="name")
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            prefix=prefix,
            key_hash=_hash(secret),
            expires_at=timezone.now() + timedelta(days=lifetime),
        )
    return token, secret


def authenticate(*, secret: str | None) -> Any:
    """The user a bearer secret belongs to, or TokenError saying precisely what is wrong."""
    if not secret:
        raise TokenError(TokenProblem.MISSING)
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise TokenError(TokenProblem.INVALID)
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not secrets.compare_digest(token.key_hash, _hash(secret)):
        raise TokenError(TokenProblem.INVALID)
    now = timezone.now()
    if token.expires_at <= now:
        raise TokenError(TokenProblem.EXPIRED)
    if not token.user.is_active:
        raise TokenError(TokenProblem.INACTIVE)
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def revoke_token(*, actor: Any, token_id: int) -> None:
    with transaction.atomic():
        deleted, _count = (
            ApiToken.objects.restrict(actor, Action.DELETE).filter(pk=token_id).delete()
        )
    if not deleted:
        raise NotFound()
