"""Music generation params: one schema for the REST body, the web form and the worker.

Checked on submit with the model at hand (`context={"owner": ..., "limits":
model.options}`): the duration against the model's maximum, a melody clip
against whether the model takes one.
"""

import io
from typing import Annotated, Any, ClassVar, Literal

from django.conf import settings
from pydantic import Field, ValidationInfo, field_validator, model_validator

from genhub.errors import InvalidInput
from genhub.params import GenerationParams
from genhub.prompts import Prompt
from genhub.uploads import FileField, FileInput, Upload

AudioFormat = Literal["wav", "flac", "ogg", "mp3"]
MIME_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "mp3": "audio/mpeg"}
# What soundfile reports for a clip, and the file extension it is kept under.
MELODY_FORMATS = {"WAV": "wav", "FLAC": "flac", "OGG": "ogg", "MP3": "mp3"}
DEFAULT_MAX_DURATION = 30.0
# A small file can claim a huge rate or many channels; the worker would then
# hold gigabytes of samples. Real reference clips are mono or stereo.
MAX_MELODY_RATE = 96_000
MAX_MELODY_CHANNELS = 2
# What AIModel.options may hold for an audio model.
MODEL_OPTIONS = frozenset({"max_duration", "melody"})


def model_limits(options: dict[str, Any]) -> dict[str, float]:
    """The longest clip a model's options allow (for the page form)."""
    return {"duration": float(options.get("max_duration", DEFAULT_MAX_DURATION))}


def check_melody(data: bytes) -> Upload:
    """An acceptable melody clip, ready to keep; ValueError says what is wrong."""
    import soundfile

    try:
        info = soundfile.info(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        raise ValueError("not a readable audio file: send WAV, FLAC, OGG or MP3") from None
    if info.format not in MELODY_FORMATS:
        raise ValueError(f"a {info.format} file; send WAV, FLAC, OGG or MP3")
    limit = settings.GENHUB_AUDIO_MAX_MELODY_SECONDS
    if info.duration > limit:
        raise ValueError(f"the clip is {info.duration:.1f} s long; the limit is {limit} s")
    if info.frames == 0:
        raise ValueError("the clip holds no audio")
    if info.samplerate > MAX_MELODY_RATE or info.channels > MAX_MELODY_CHANNELS:
        raise ValueError(
            f"{info.channels} channels at {info.samplerate} Hz; send mono or stereo at "
            f"{MAX_MELODY_RATE} Hz or less"
        )
    extension = MELODY_FORMATS[info.format]
    fields = {
        "duration_seconds": round(info.duration, 3),
        "sample_rate": info.samplerate,
        "channels": info.channels,
    }
    return Upload(data, MIME_TYPES[extension], extension, fields)


Melody = Annotated[
    FileInput,
    FileField(
        "audio/",
        check_melody,
        "For melody models: a reference clip (WAV, FLAC, OGG or MP3) as base64, "
        "a data URL or a multipart file, or `artifact:<id>` naming one of your clips.",
    ),
]


class AudioParams(GenerationParams):
    upload_fields: ClassVar[tuple[str, ...]] = ("melody",)

    prompt: Prompt = Field(description="The music to make: genre, instruments, mood, tempo.")
    duration: float = Field(
        8.0, gt=0, le=120, description="Seconds, up to the model's maximum (30 by default)."
    )
    guidance_scale: float = Field(
        3.0, ge=0.0, le=20.0, description="How closely to follow the prompt; 0 or 1 turns it off."
    )
    temperature: float = Field(1.0, gt=0.0, le=2.0)
    top_k: int = Field(250, ge=0, le=2048, description="0 turns top-k off.")
    top_p: float = Field(0.0, ge=0.0, le=1.0, description="0 turns nucleus sampling off.")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Same seed, same clip.")
    format: AudioFormat = Field("wav", description="wav, flac, ogg (Vorbis) or mp3.")
    melody: Melody | None = None

    @classmethod
    def work(cls, params: dict[str, Any]) -> float:
        # Seconds of audio to make: the model generates them frame by frame.
        return float(params.get("duration") or 1.0)

    @field_validator("duration")
    @classmethod
    def duration_at_least_a_tenth(cls, duration: float) -> float:
        if duration < 0.1:
            raise ValueError("the shortest clip is 0.1 s")
        return round(duration, 3)

    @model_validator(mode="after")
    def within_the_models_limits(self, info: ValidationInfo) -> "AudioParams":
        # InvalidInput, not ValueError: pydantic lets it through as it is, so the
        # 422 names the field instead of the whole body.
        limits = (info.context or {}).get("limits")
        if limits is not None:  # on submit, with the model at hand
            maximum = float(limits.get("max_duration", DEFAULT_MAX_DURATION))
            if self.duration > maximum:
                raise InvalidInput(
                    "duration",
                    f"{self.duration} s is over this model's maximum of {maximum:g} s.",
                )
            if self.melody is not None and not limits.get("melody"):
                raise InvalidInput(
                    "melody",
                    "This model does not take a melody clip; use a musicgen-melody model "
                    "or leave melody out.",
                )
        return self

    def display_prompt(self) -> str:
        return self.prompt
