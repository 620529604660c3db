"""Files that come with a request (an init image, a melody clip).

A request carries a file as a base64 string or a data URL in JSON, or as a part
of a multipart form, or names one of its owner's earlier files as
`artifact:<id>`. A field declared with `FileField` turns any of these into a
`FileInput` during validation: the bytes are decoded and checked once, a
reference is looked up once. `submit_job` then keeps a new file as an input
Artifact of the job, and the job's params name it as `artifact:<id>`: params
stay small, and what was submitted is never lost.
"""

import base64
import binascii
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
from pydantic_core import core_schema

if TYPE_CHECKING:
    from genhub.models import Artifact

ARTIFACT_REF = re.compile(r"^artifact:([0-9a-fA-F-]{36})$")
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(;[\w=.+-]+)*;base64,", re.ASCII)


@dataclass(frozen=True)
class ReceivedFile:
    """A multipart file part, handed to the schema as it came: its bytes are
    checked as they are, never turned into base64 and back."""

    data: bytes
    filename: str = ""


@dataclass(frozen=True)
class Upload:
    """A checked file from a request, to be kept as an input artifact."""

    data: bytes
    mime_type: str
    extension: str
    fields: dict[str, Any] = field(default_factory=dict)  # width, height, duration...


@dataclass(frozen=True)
class FileInput:
    """What a file field holds once validated: a file sent with this request
    (`upload`), or a reference to an earlier artifact (`artifact_id`, and on
    submit the row itself, looked up once and checked against the caller)."""

    upload: Upload | None = None
    artifact_id: uuid.UUID | None = None
    artifact: "Artifact | None" = field(default=None, compare=False, repr=False)

    def stored_value(self) -> str | None:
        """How params keep it: the reference, or None until the upload is stored."""
        return f"artifact:{self.artifact_id}" if self.artifact_id else None


def artifact_id(value: str) -> uuid.UUID | None:
    """The artifact id of an `artifact:<uuid>` reference, or None."""
    match = ARTIFACT_REF.match(value)
    if not match:
        return None
    try:
        return uuid.UUID(match.group(1))
    except ValueError:
        return None


def decode(value: str) -> bytes:
    """The bytes of a base64 string or a base64 data URL. ValueError says why not."""
    limit = settings.GENHUB_MAX_UPLOAD_BYTES
    payload = _DATA_URL.sub("", value, count=1)
    if len(payload) > limit * 4 // 3 + 4:
        raise ValueError(f"the file is over the {limit // 2**20} MiB upload limit")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not a base64 string or a data URL (data:<type>;base64,...)") from None
    if not data:
        raise ValueError("the file is empty")
    return data


@dataclass(frozen=True)
class FileField:
    """Annotated metadata that makes a `FileInput` field:
    `Annotated[FileInput, FileField("image/", check_init_image, "...")]`.

    `kind` is the mime type prefix a referenced artifact must have; `check` turns
    acceptable bytes into an Upload and raises ValueError, saying why, otherwise.
    In the API docs the field is a string (base64, a data URL or artifact:<id>).
    """

    kind: str
    check: Callable[[bytes], Upload]
    description: str

    def validate(self, value: Any, info: ValidationInfo) -> FileInput:
        if isinstance(value, FileInput):
            return value
        if isinstance(value, ReceivedFile):
            return FileInput(upload=self.check(value.data))
        if not isinstance(value, str):
            raise ValueError(
                "give a file as base64, a data URL, a multipart file part, or artifact:<id>"
            )
        ref = artifact_id(value)
        if ref is not None:
            return FileInput(artifact_id=ref, artifact=_owned_artifact(ref, info, self.kind))
        return FileInput(upload=self.check(decode(value)))

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.with_info_plain_validator_function(
            self.validate,
            serialization=core_schema.plain_serializer_function_ser_schema(FileInput.stored_value),
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return {"type": "string", "description": self.description}


def _owned_artifact(ref: uuid.UUID, info: ValidationInfo, kind: str) -> "Artifact | None":
    """The artifact `ref` names, checked against the caller and its kind, when
    validation is given a caller (on submit). The worker validates stored params
    without one: they were checked when the job was made."""
    owner = (info.context or {}).get("owner")
    if owner is None:
        return None
    from genhub.models import Artifact

    artifact = Artifact.objects.visible_to(owner).filter(pk=ref).first()
    if artifact is None:
        raise ValueError(f"no artifact {ref} among your jobs' files")
    if not artifact.mime_type.startswith(kind):
        raise ValueError(f"artifact {ref} is {artifact.mime_type}, not {kind.rstrip('/')}")
    return artifact
