"""`{% for w, h in size_presets|fitting:model %}`: the presets a model can make,
within its `max_width` and `max_height` options (static/js/image.js filters the
same list when another model is picked)."""

from typing import Any

from django import template

from genhub.models import AIModel

register = template.Library()


@register.filter
def fitting(presets: list[tuple[int, int]], model: AIModel | None) -> list[tuple[int, int]]:
    limits: Any = model.options if model is not None else {}
    if not isinstance(limits, dict):
        return presets
    max_width, max_height = limits.get("max_width"), limits.get("max_height")
    return [
        (width, height)
        for width, height in presets
        if (not max_width or width <= max_width) and (not max_height or height <= max_height)
    ]
