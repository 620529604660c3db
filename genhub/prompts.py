"""The checks every prompt gets, whatever the modality."""

from typing import Annotated

from django.conf import settings
from pydantic import AfterValidator


def check_prompt(text: str, *, allow_empty: bool = False) -> str:
    """`text` if it is a usable prompt; ValueError with the reason otherwise."""
    if "\x00" in text:
        # PostgreSQL cannot store NUL in text or JSON; say so instead of a 500.
        raise ValueError("the text contains a NUL character (\\u0000)")
    if not allow_empty and not text.strip():
        raise ValueError("the prompt is empty")
    limit = settings.GENHUB_MAX_PROMPT_CHARS
    if len(text) > limit:
        raise ValueError(f"the prompt is {len(text)} characters; the limit is {limit}")
    return text


def _check_optional_text(text: str) -> str:
    return check_prompt(text, allow_empty=True)


# Field types for params schemas: a prompt, and text that may be empty (a negative prompt).
Prompt = Annotated[str, AfterValidator(check_prompt)]
OptionalText = Annotated[str, AfterValidator(_check_optional_text)]
