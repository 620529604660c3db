"""GET /account/usage: the caller's use of each of their limits (genhub/quotas.py)."""

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from genhub import quotas
from genhub.api.auth import caller

router = Router(tags=["account"])


class UsageOut(Schema):
    limit: str = Field(
        description="requests_per_minute, max_queued or compute_seconds_per_day "
        "(the name a 429's `limit` carries)."
    )
    modality: str | None = Field(description="The modality of a compute budget; null otherwise.")
    label: str
    used: int = Field(description="Jobs, or for a compute budget seconds of worker time.")
    allowed: int = Field(description="0: no limit.")
    resets_in: int | None = Field(
        description="Seconds until the limit frees up, once it is reached; null below it."
    )


@router.get("/usage", response=list[UsageOut], url_name="account_usage")
def account_usage(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "limit": row.limit,
            "modality": row.modality or None,
            "label": row.label,
            "used": row.used,
            "allowed": row.allowed,
            "resets_in": row.resets_in,
        }
        for row in quotas.usage(caller(request))
    ]
