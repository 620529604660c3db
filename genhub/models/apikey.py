"""API keys. Only a hash is stored; the key itself is shown once, on creation."""

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from genhub import key_cache, modalities

KEY_PREFIX = "gh_"


def _digest(key: str) -> str:
    # Keys are 32 random bytes, so a fast hash is enough: there is nothing to
    # brute-force that is easier than guessing the key itself.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> "ApiKeyQuerySet":
        unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        return self.filter(unexpired, revoked_at__isnull=True, user__is_active=True)


class ApiKey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The modality names this key may create jobs for; empty means all of them.
    # A JSON list rather than a relation: modalities live in a registry, not a table.
    scopes = models.JSONField(default=list, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    # The key itself, only on the row issue() returns, for showing it that once.
    issued_key: str = ""

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{KEY_PREFIX}{self.prefix}… ({self.user})"

    def clean(self) -> None:
        unknown = sorted(set(self.scopes or []) - {m.name for m in modalities.all_modalities()})
        if unknown:
            raise ValidationError({"scopes": f"Unknown modalities: {', '.join(unknown)}."})

    def allows(self, modality: str) -> bool:
        """Whether this key may create jobs of `modality`."""
        return not self.scopes or modality in self.scopes

    def revoke(self) -> None:
        # Conditional, so revoking twice keeps the first time.
        ApiKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        key_cache.clear()  # refused at once here; other processes within the cache's bound

    @classmethod
    def issue(
        cls,
        user: Any,
        name: str = "",
        expires_at: datetime | None = None,
        scopes: list[str] | None = None,
    ) -> tuple["ApiKey", str]:
        """Create a key for `user`; returns the row and the key, which is not kept."""
        prefix = secrets.token_hex(4)
        key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        row = cls.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            hashed_key=_digest(key),
            expires_at=expires_at,
            scopes=scopes or [],
        )
        row.issued_key = key
        return row, key

    @classmethod
    def authenticate(cls, key: str) -> "ApiKey | None":
        """The active (not revoked, not expired) key matching `key`, or None.
        Compared in constant time."""
        if not key.startswith(KEY_PREFIX):
            return None
        digest = _digest(key)
        # Checked against the database at most every GENHUB_API_KEY_CACHE_SECONDS
        # per process (genhub/key_cache.py says how soon a revocation bites).
        row = key_cache.get(digest)
        if row is None:
            prefix, _, _ = key[len(KEY_PREFIX) :].partition("_")
            row = cls.objects.active().select_related("user").filter(prefix=prefix).first()
            if row is None or not hmac.compare_digest(row.hashed_key, digest):
                return None
            key_cache.put(digest, row)
        now = timezone.now()
        # Touch at most once a minute: a busy client should not write on every request.
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            cls.objects.filter(pk=row.pk).update(last_used_at=now)
            row.last_used_at = now
            key_cache.touched(digest, now)
        return row
