"""GET /models: the enabled models a client may name."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from genhub.api.auth import caller
from genhub.api.schemas import ModelOut, QueryText, model_out
from genhub.models import AIModel

router = Router(tags=["models"])


@router.get("", response=list[ModelOut], url_name="model_list")
def list_models(request: HttpRequest, modality: QueryText | None = None) -> list[dict[str, Any]]:
    models = AIModel.objects.enabled()
    if modality:
        models = models.filter(modality=modality)
    staff = caller(request).is_staff
    return [model_out(m, show_source=staff) for m in models]
