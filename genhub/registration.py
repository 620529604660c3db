"""Registering a model row from code (bootstrap_models), idempotently."""

from typing import Any

from genhub.models import AIModel


def register_model(name: str, *, make_default: bool, **fields: Any) -> tuple[AIModel, str]:
    """Create or update the row `name`. Returns it and what happened, in words.

    make_default=True always takes the default flag; False takes it only when the
    modality has no default yet.
    """
    existing = AIModel.objects.filter(name=name).first()
    modality = fields["modality"]
    has_default = AIModel.objects.filter(modality=modality, is_default=True).exclude(name=name)
    wants_default = make_default or not has_default.exists()
    if existing is not None:
        unchanged = all(getattr(existing, k) == v for k, v in fields.items())
        if unchanged and (existing.is_default or not make_default):
            return existing, "already registered"
        for key, value in fields.items():
            setattr(existing, key, value)
        existing.is_default = existing.is_default or wants_default
        existing.save()
        return existing, "updated"
    model = AIModel(name=name, is_default=wants_default, **fields)
    model.save()
    return model, "registered" + (" as the default" if wants_default else "")
