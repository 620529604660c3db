"""The base of every modality's params schema.

One schema validates the REST body, the web form and the worker's input. The
base class declares what the pipeline asks of every schema: the prompt as a
person reads it, and the files the request carried.
"""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from genhub.errors import InvalidInput
from genhub.uploads import FileInput, Upload


class GenerationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The fields that take a file (declared with genhub.uploads.FileField); a
    # multipart request may send a file part under these names and no others.
    upload_fields: ClassVar[tuple[str, ...]] = ()

    def display_prompt(self) -> str:
        """The prompt as a person would read it (the history, the job page)."""
        raise NotImplementedError

    @classmethod
    def work(cls, params: dict[str, Any]) -> float:
        """How much generating a job with these stored params costs, in the
        modality's own unit, so that a model's recent runs give seconds per unit
        (genhub/eta.py). 1.0: every job of the model costs the same."""
        return 1.0

    def uploads(self) -> dict[str, Upload]:
        """The files this request sent with it, by field, to keep as the job's inputs.
        References to earlier files are not among them: those are stored already."""
        found: dict[str, Upload] = {}
        for name in self.upload_fields:
            value: FileInput | None = getattr(self, name)
            if value is not None and value.upload is not None:
                found[name] = value.upload
        return found

    @model_validator(mode="before")
    @classmethod
    def no_lone_surrogates(cls, data: Any) -> Any:
        # JSON may carry "\ud800", which no database or page can store or show as
        # text; refuse it here, naming the field, instead of failing later.
        if isinstance(data, dict):
            for path, text in strings_in(data, ()):
                if any("\ud800" <= char <= "\udfff" for char in text):
                    raise InvalidInput(
                        str(path[0]),
                        "This text holds a lone UTF-16 surrogate (such as \\ud800), which "
                        "is not a character; send valid Unicode.",
                        at=path[1:],
                    )
        return data


def strings_in(value: Any, path: tuple[Any, ...] = ()) -> Any:
    """(path, text) for every string in nested dicts and lists."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings_in(item, (*path, index))
