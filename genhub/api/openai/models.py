"""GET /v1/models and /v1/models/{id}: every enabled model of every modality,
by its GenHub name; and the check that a request's model exists and fits."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from genhub.api.openai.errors import OpenAIError
from genhub.api.openai.schemas import ErrorOut, ModelList, ModelOut
from genhub.models import AIModel

router = Router(tags=["models"])

# What each modality's models are used on, to say where a model belongs.
ENDPOINTS = {
    "text": "/v1/chat/completions or /v1/completions",
    "image": "/v1/images/generations",
}


def model_out(model: AIModel) -> dict[str, Any]:
    return {
        "id": model.name,
        "object": "model",
        "created": int(model.created_at.timestamp()),
        "owned_by": "genhub",
    }


def not_found(name: str) -> OpenAIError:
    return OpenAIError(
        404,
        f"The model '{name}' does not exist or is not enabled. GET /v1/models lists "
        "the models you can use.",
        param="model",
        code="model_not_found",
    )


def require_model(name: str, modality: str) -> AIModel:
    """The enabled model named `name`, which must be of `modality`: else 404
    `model_not_found`, or 400 naming `model` for a model of another kind."""
    model = AIModel.objects.enabled().filter(name=name).first()
    if model is None:
        raise not_found(name)
    if model.modality != modality:
        where = ENDPOINTS.get(model.modality)
        use = f" Use it on {where}." if where else " It has no OpenAI-compatible endpoint."
        raise OpenAIError(
            400,
            f"'{name}' is a{'n' if model.modality[0] in 'aeiou' else ''} {model.modality} "
            f"model, not a {modality} model.{use}",
            param="model",
            code="model_not_supported",
        )
    return model


@router.get("", response={200: ModelList, 401: ErrorOut}, url_name="openai_models")
def list_models(request: HttpRequest) -> dict[str, Any]:
    models = AIModel.objects.enabled().order_by("modality", "name")
    return {"object": "list", "data": [model_out(m) for m in models]}


@router.get(
    "/{model}", response={200: ModelOut, 401: ErrorOut, 404: ErrorOut}, url_name="openai_model"
)
def retrieve_model(request: HttpRequest, model: str) -> dict[str, Any]:
    if "\x00" in model or any("\ud800" <= c <= "\udfff" for c in model):
        raise not_found(model.encode("utf-8", "replace").decode())
    found = AIModel.objects.enabled().filter(name=model).first()
    if found is None:
        raise not_found(model)
    return model_out(found)
