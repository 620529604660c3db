"""`{{ value|as_json }}`: a value as JSON for a data attribute, which the page's
script reads with JSON.parse. Left unmarked, so autoescaping makes it safe
inside a quoted attribute."""

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
