"""Image generation params: one schema for the REST body, the web form and the worker.

Checked on submit with the model at hand (`context={"owner": ..., "limits":
model.options}`): sizes against the model's bounds, an `artifact:` init image
against the caller's own files. The worker validates the stored params again
without a context; they were checked when the job was made.
"""

import io
from typing import Annotated, Any, ClassVar, Literal

from django.conf import settings
from pydantic import Field, ValidationInfo, field_validator, model_validator

from genhub.errors import InvalidInput
from genhub.params import GenerationParams
from genhub.prompts import OptionalText, Prompt
from genhub.uploads import FileField, FileInput, Upload

SchedulerName = Literal["DDIM", "Euler", "Euler a", "DPM++ 2M", "DPM++ 2M Karras", "LCM", "UniPC"]
# MPO is how Pillow names the JPEGs many phones and cameras write.
INIT_IMAGE_FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "MPO": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}
# What AIModel.options may hold for an image model (see imagegen/runner.py).
MODEL_OPTIONS = frozenset(
    {
        "attention_slicing",
        "vae_tiling",
        "cpu_offload",
        "variant",
        "config",
        "max_width",
        "max_height",
        "max_batch",  # images one pipeline call may make for queued jobs together
        "batch_wait_ms",  # how long a batch after a batch waits to fill (genhub/worker/batches.py)
    }
)


def model_limits(options: dict[str, Any]) -> dict[str, float]:
    """The largest width and height a model's options allow (for the page form)."""
    return {
        field: options[f"max_{field}"]
        for field in ("width", "height")
        if options.get(f"max_{field}")
    }


def batch_key(params: dict[str, Any]) -> tuple[Any, ...] | None:
    """What queued jobs must share to be denoised in one pipeline call (the
    prompts, negative prompts and seeds may differ), or None for a job that runs
    alone: image-to-image gives each job its own init image and strength."""
    if any(params.get(field) for field in ImageParams.upload_fields):
        return None
    return (
        params.get("width"),
        params.get("height"),
        params.get("steps"),
        params.get("scheduler"),
        float(params.get("guidance_scale") or 0.0),
    )


def batch_size(params: dict[str, Any]) -> int:
    """A job's share of a model's max_batch: its images, not 1, since memory and
    time grow with the images in a call."""
    return int(params.get("num_images") or 1)


def check_init_image(data: bytes) -> Upload:
    """An acceptable init image, ready to keep; ValueError says what is wrong."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, size = image.format or "", image.size
            if image_format not in INIT_IMAGE_FORMATS:
                raise ValueError(f"a {image_format or 'unknown'} image; send PNG, JPEG or WebP")
            # The header gives the size; checked before decoding the pixels, so a
            # small file claiming a huge image is refused without being expanded.
            limit = settings.GENHUB_IMAGE_MAX_INPUT_PIXELS
            if size[0] * size[1] > limit:
                raise ValueError(f"the image is {size[0]}×{size[1]}, over the {limit}-pixel limit")
            image.load()
    except UnidentifiedImageError:
        raise ValueError("not a readable image: send a PNG, JPEG or WebP file") from None
    except (OSError, Image.DecompressionBombError) as error:
        # Pillow's messages can name a Python object; say what a person can act on.
        reason = str(error).split(" <", 1)[0]
        raise ValueError(f"the image could not be decoded ({reason})") from None
    mime_type, extension = INIT_IMAGE_FORMATS[image_format]
    return Upload(data, mime_type, extension, {"width": size[0], "height": size[1]})


InitImage = Annotated[
    FileInput,
    FileField(
        "image/",
        check_init_image,
        "For image-to-image: a PNG, JPEG or WebP image as base64 or a data URL "
        "(or a multipart file), or `artifact:<id>` naming one of your earlier images.",
    ),
]


class ImageParams(GenerationParams):
    upload_fields: ClassVar[tuple[str, ...]] = ("init_image",)

    prompt: Prompt = Field(description="What the image should show.")
    negative_prompt: OptionalText = Field("", description="What it should not show.")
    width: int | None = Field(
        None,
        ge=8,
        le=4096,
        description="Pixels, a multiple of 8. Default: the init image's width, "
        "or the model's native size.",
    )
    height: int | None = Field(None, ge=8, le=4096, description="Pixels, a multiple of 8.")
    steps: int = Field(30, ge=1, le=150, description="Denoising steps.")
    guidance_scale: float = Field(
        7.5, ge=0.0, le=30.0, description="How closely to follow the prompt; 0 for turbo models."
    )
    seed: int | None = Field(
        None, ge=0, le=2**32 - 1, description="Image i of a batch uses seed + i."
    )
    num_images: int = Field(1, ge=1, le=8, description="Made together, as one batch.")
    scheduler: SchedulerName | None = Field(None, description="Default: the model's own.")
    init_image: InitImage | None = None
    strength: float = Field(
        0.75,
        gt=0.0,
        le=1.0,
        description="Image-to-image: how much of the init image to repaint (1 = all of it).",
    )

    @classmethod
    def work(cls, params: dict[str, Any]) -> float:
        # Denoising steps over every pixel of the batch, in 512 x 512 images; a
        # size left to the model counts as 512 x 512.
        pixels = (params.get("width") or 512) * (params.get("height") or 512) / (512 * 512)
        return float(params.get("steps") or 30) * float(params.get("num_images") or 1) * pixels

    @field_validator("width", "height")
    @classmethod
    def multiple_of_8(cls, value: int | None) -> int | None:
        if value is not None and value % 8:
            raise ValueError(f"{value} is not a multiple of 8 (try {value - value % 8})")
        return value

    @model_validator(mode="after")
    def size_within_limits(self, info: ValidationInfo) -> "ImageParams":
        # Raises InvalidInput rather than ValueError: pydantic passes it through
        # as it is, so the 422 names the field instead of the whole body.
        if self.init_image is None and (self.width is None) != (self.height is None):
            missing = "height" if self.height is None else "width"
            raise InvalidInput(
                missing, "Give width and height together (or neither, for the model's size)."
            )
        width, height = self.size_for(_init_size(self.init_image))
        if info.context is not None:  # on submit; the worker re-checks the resolved size
            _check_size(width, height, self, info.context.get("limits") or {})
        if self.init_image is not None and int(self.steps * self.strength) < 1:
            raise InvalidInput(
                "strength",
                f"steps × strength is {self.steps} × {self.strength}, less than one denoising "
                "step; raise steps or strength.",
            )
        return self

    def size_for(self, init_size: tuple[int, int] | None) -> tuple[int | None, int | None]:
        """The (width, height) to make: as asked, else the init image's size rounded
        down to a multiple of 8; None leaves it to the model's native size."""
        width, height = self.width, self.height
        if init_size is not None:
            width = width or max(8, init_size[0] // 8 * 8)
            height = height or max(8, init_size[1] // 8 * 8)
        return width, height

    def display_prompt(self) -> str:
        return self.prompt


def _init_size(init_image: FileInput | None) -> tuple[int, int] | None:
    """The init image's size, when validation knows it (a new file, or an artifact
    looked up on submit); the worker learns it from the image itself."""
    if init_image is None:
        return None
    if init_image.upload is not None:
        return init_image.upload.fields["width"], init_image.upload.fields["height"]
    artifact = init_image.artifact
    if artifact is not None and artifact.width and artifact.height:
        return artifact.width, artifact.height
    return None


def _check_size(width: int | None, height: int | None, params: ImageParams, limits: dict) -> None:
    sized_by = "init_image" if params.width is None and params.init_image else "width"
    if width and height:
        budget = settings.GENHUB_IMAGE_MAX_PIXELS
        if width * height > budget:
            raise InvalidInput(
                sized_by,
                f"{width}×{height} is {width * height} pixels, over the limit of "
                f"{budget} pixels per image; lower width or height.",
            )
    for field, value in (("width", width), ("height", height)):
        limit = limits.get(f"max_{field}")
        if value and limit and value > limit:
            raise InvalidInput(field, f"{field} {value} is over this model's maximum of {limit}.")
