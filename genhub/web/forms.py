"""Form fields drawn from a params schema, so a page's inputs carry the same
bounds, defaults and help text that the API enforces: one schema, two faces."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from genhub.error_messages import readable_errors

LABELS = {
    "num_images": "Images",
    "top_k": "Top-k",
    "top_p": "Top-p",
    "max_new_tokens": "Max new tokens",
    "guidance_scale": "Guidance (CFG)",
}


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # number | text | textarea | select | file
    help: str = ""
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    step: str = "any"
    choices: list[str] = field(default_factory=list)
    required: bool = False
    value: Any = None
    error: str = ""
    schema_default: Any = None
    schema_maximum: float | None = None  # before the chosen model's limit

    @property
    def shown_value(self) -> Any:
        return self.default if self.value is None else self.value

    @property
    def resets_with_model(self) -> bool:
        """Picking another model puts its default here (the prompt and seed stay)."""
        return self.kind in ("number", "select") and self.name != "seed"


def label_for(name: str) -> str:
    """A param's name as a form or a page shows it."""
    return LABELS.get(name) or name.replace("_", " ").capitalize()


def schema_fields(
    schema: type[BaseModel],
    names: list[str],
    *,
    defaults: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    kinds: dict[str, str] | None = None,
    limits: dict[str, float] | None = None,
) -> list[FormField]:
    """Fields for `names`, in that order. `defaults` (a model's default_params)
    win over the schema's, `limits` (its AIModel.field_limits) lower a maximum;
    `values` and `errors` refill a form sent back."""
    described = schema.model_json_schema()
    required = set(described.get("required", []))
    defaults, values, errors, kinds = defaults or {}, values or {}, errors or {}, kinds or {}
    limits = limits or {}
    fields = []
    for name in names:
        spec = described["properties"][name]
        typed = next((s for s in spec.get("anyOf", [spec]) if s.get("type") != "null"), spec)
        kind = kinds.get(name) or _kind(typed)
        form_field = FormField(
            name=name,
            label=label_for(name),
            kind=kind,
            help=spec.get("description", ""),
            default=defaults.get(name, spec.get("default")),
            minimum=typed.get("minimum", typed.get("exclusiveMinimum")),
            maximum=_lower(typed.get("maximum"), limits.get(name)),
            exclusive_minimum="exclusiveMinimum" in typed,
            step="1" if typed.get("type") == "integer" else "any",
            choices=list(typed.get("enum", [])),
            required=name in required,
            value=values.get(name),
            error=errors.get(name, ""),
            schema_default=spec.get("default"),
            schema_maximum=typed.get("maximum"),
        )
        fields.append(form_field)
    return fields


def _lower(maximum: float | None, limit: float | None) -> float | None:
    if limit is None:
        return maximum
    return limit if maximum is None else min(maximum, limit)


def _kind(typed: dict[str, Any]) -> str:
    if "enum" in typed:
        return "select"
    if typed.get("type") in ("integer", "number"):
        return "number"
    return "text"


def errors_by_field(detail: Any) -> dict[str, str]:
    """{field: message} from pydantic's or the API's error list (`loc`, `msg`)."""
    found: dict[str, str] = {}
    for error in readable_errors(detail):
        loc = [part for part in error.get("loc", []) if part != "body"]
        name = str(loc[0]) if loc else "__all__"
        found.setdefault(name, error.get("msg", "invalid"))
    return found
