"""Music generation params: one schema for the REST body, the web form and the worker.

Checked on submit with the model at hand (`context={"owner": ..., "limits":
model.options}`): the duration against the model's maximum, a melody clip
against whether the model takes one.
"""

import io
from typing import ClassVar, Literal

from django.conf import settings
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from genhub import uploads
from genhub.errors import InvalidInput
from genhub.prompts import Prompt

AudioFormat = Literal["wav", "flac", "ogg", "mp3"]
MIME_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "mp3": "audio/mpeg"}
# What soundfile reports for a clip, and the file extension it is kept under.
MELODY_FORMATS = {"WAV": "wav", "FLAC": "flac", "OGG": "ogg", "MP3": "mp3"}
DEFAULT_MAX_DURATION = 30.0
# A small file can claim a huge rate or many channels; the worker would then
# hold gigabytes of samples. Real reference clips are mono or stereo.
MAX_MELODY_RATE = 96_000
MAX_MELODY_CHANNELS = 2


class AudioParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
    melody: str | None = Field(
        None,
        description="For melody models: a reference clip (WAV, FLAC, OGG or MP3) as base64, "
        "a data URL or a multipart file, or `artifact:<id>` naming one of your clips.",
    )

    _uploads: dict[str, uploads.Upload] = PrivateAttr(default_factory=dict)

    @field_validator("duration")
    @classmethod
    def duration_at_least_a_tenth(cls, duration: float) -> float:
        if duration < 0.1:
            raise ValueError("the shortest clip is 0.1 s")
        return round(duration, 3)

    @field_validator("melody")
    @classmethod
    def melody_is_audio(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if uploads.artifact_id(value) is not None:
            uploads.check_reference(value, info, "audio/")
            return value
        _check_clip(uploads.decode(value))
        return value

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
        if self.melody is not None and uploads.artifact_id(self.melody) is None:
            data = uploads.decode(self.melody)
            kind, seconds, rate, channels = _check_clip(data)
            self._uploads["melody"] = uploads.Upload(
                data=data,
                mime_type=MIME_TYPES[MELODY_FORMATS[kind]],
                extension=MELODY_FORMATS[kind],
                fields={"duration_seconds": seconds, "sample_rate": rate, "channels": channels},
            )
        return self

    def display_prompt(self) -> str:
        return self.prompt

    def uploads(self) -> dict[str, uploads.Upload]:
        return dict(self._uploads)


def _check_clip(data: bytes) -> tuple[str, float, int, int]:
    """(format, seconds, sample rate, channels) of an acceptable melody clip."""
    import soundfile

    try:
        info = soundfile.info(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise ValueError(f"not a readable audio file ({error})") from None
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
    return info.format, round(info.duration, 3), info.samplerate, info.channels
