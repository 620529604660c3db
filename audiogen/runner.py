"""The audio runner: load MusicGen with transformers, generate codec frames with a
per-step hook that reports progress and checks for cancel, write the clip in the
asked format with its record in the tags, and draw its waveform. Workers import
this module; the web process never does.

Device and precision: CUDA in half precision (bf16 where the GPU has it) when
there is a GPU, float32 on CPU; `AIModel.dtype` and `AIModel.device` override both.

Time: the EnCodec codec turns one frame of codes into `hop` samples, at
`frame_rate` frames a second (50 for the released models). The decoder predicts
its codebooks with a delay pattern, codebook k lagging k steps, so D seconds take
ceil(D × frame_rate) + num_codebooks - 1 new tokens. Both numbers come from the
model's config, never from constants here.

The backend is transformers because audiocraft, MusicGen's own library, pins
torch 2.1 and imports xformers unconditionally (docs/audio.md). Everything
backend-specific is in `load` and `generate_clip`: an audiocraft worker built in
its own image could serve the same queue by replacing those two.
"""

import hashlib
import io
import json
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from django.conf import settings
from transformers import AutoModelForTextToWaveform, AutoTokenizer, StoppingCriteria
from transformers.utils import cached_file

from audiogen import waveforms
from audiogen.chroma import melody_features
from audiogen.params import MIME_TYPES, AudioParams
from genhub import artifacts
from genhub.errors import JobCancelled, JobError, without_internals
from genhub.models import AIModel, Job
from genhub.worker.devices import pick_dtype, seed_everything
from genhub.worker.loading import (
    load_cached,
    load_failed,
    out_of_memory_becomes,
    preload_cached,
    pretrained_location,
)
from genhub.worker.progress import JobProgress

log = logging.getLogger(__name__)

# soundfile's container and codec per output format; all four carry tags.
FILE_FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
STEP_EVENTS_PER_CLIP = 40  # a 30 s clip is 1500 frames; one event every ~40 of them


# --- load -------------------------------------------------------------------


@dataclass
class MusicModel:
    model: Any
    tokenizer: Any
    device: str
    # A melody model's preprocessor_config.json (how to make its chromagram).
    melody_config: dict[str, Any] | None = None

    @property
    def sampling_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def frame_rate(self) -> float:
        codec = self.model.config.audio_encoder
        return codec.sampling_rate / math.prod(codec.upsampling_ratios)

    @property
    def num_codebooks(self) -> int:
        return int(self.model.decoder.config.num_codebooks)

    @property
    def delay_steps(self) -> int:
        """Steps before the first whole frame. The delay pattern runs per audio
        channel: a stereo model's 8 codebooks are two interleaved sets of 4."""
        channels = int(getattr(self.model.config.audio_encoder, "audio_channels", 1) or 1)
        return self.num_codebooks // channels - 1

    @property
    def takes_melody(self) -> bool:
        return self.melody_config is not None


def load(aimodel: AIModel, device: str) -> MusicModel:
    location, options = pretrained_location(aimodel)
    try:
        # The tokenizer, not AutoProcessor: a melody model's processor needs
        # torchaudio for its chromagram, which audiogen/chroma.py makes instead.
        tokenizer = AutoTokenizer.from_pretrained(location, **options)
        model = AutoModelForTextToWaveform.from_pretrained(
            location, dtype=pick_dtype(aimodel.dtype, device), **options
        )
        melody_config = None
        if model.config.model_type == "musicgen_melody":
            found = cached_file(location, "preprocessor_config.json", **options)
            melody_config = json.loads(Path(str(found)).read_text())
    except (OSError, ValueError, ImportError) as error:
        raise load_failed(aimodel, error) from error
    model.to(device).eval()
    return MusicModel(model, tokenizer, device, melody_config)


def _nbytes(loaded: MusicModel) -> int:
    return sum(p.numel() * p.element_size() for p in loaded.model.parameters())


def preload(aimodel: AIModel) -> bool:
    """Load the model before its first job: the admin's Preload (genhub/worker/commands.py).
    False when it was loaded already."""
    return preload_cached(aimodel, load, _nbytes)


# --- generate ---------------------------------------------------------------


class _FrameProgress(StoppingCriteria):
    """Called by generate after every step: reports whole frames done every few
    frames, and leaves the loop at once when the job is cancelled. (transformers
    5.23's MusicGen drops a `streamer` before its loop; this hook is called.)"""

    def __init__(self, progress: JobProgress, frames: int, delay: int) -> None:
        self.progress = progress
        self.frames = frames
        self.delay = delay  # steps before the first whole frame (the delay pattern)
        self.every = max(1, frames // STEP_EVENTS_PER_CLIP)
        # And no closer together than the token window: on a fast model each
        # event's CPU would come out of generation (see docs/benchmarks.md).
        self.window = settings.GENHUB_TOKEN_COALESCE_MS / 1000
        self.last_event = 0.0
        self.steps = 0

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        if self.progress.cancel_requested:
            # Raised, not returned as "done": a loop stopped early would still
            # decode a partial clip.
            raise JobCancelled()
        self.steps += 1
        done = min(self.frames, self.steps - self.delay)
        if done == self.frames or (
            done > 0
            and done % self.every == 0
            and time.monotonic() - self.last_event >= self.window
        ):
            self.progress.step(done, self.frames)
            self.last_event = time.monotonic()
        flags = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        return flags  # type: ignore[return-value]  # a bool tensor is what generate() checks


def generate_clip(
    music: MusicModel,
    params: AudioParams,
    melody: tuple[np.ndarray, int] | None,
    progress: JobProgress,
) -> tuple[np.ndarray, int]:
    """(samples × channels float32 array, new tokens) for one clip of params.duration."""
    frames = math.ceil(params.duration * music.frame_rate - 1e-6)
    new_tokens = frames + music.delay_steps
    limit = getattr(music.model.decoder.config, "max_position_embeddings", None)
    if limit and new_tokens + 1 > limit:
        longest = (limit - 1 - music.delay_steps) / music.frame_rate
        raise JobError(
            f"{params.duration} s is {new_tokens} tokens; this model holds {limit}, about "
            f"{longest:.0f} s. Ask for a shorter clip."
        )
    inputs = _inputs(music, params, melody)
    sampling: dict[str, Any] = {
        "do_sample": True,
        "guidance_scale": params.guidance_scale if params.guidance_scale > 1 else None,
        "temperature": params.temperature,
        "top_k": params.top_k or None,
        "top_p": params.top_p or None,
    }
    hook = _FrameProgress(progress, frames, music.delay_steps)
    with torch.inference_mode():
        audio = music.model.generate(
            **inputs, **sampling, max_new_tokens=new_tokens, stopping_criteria=[hook]
        )
    wanted = round(params.duration * music.sampling_rate)
    clip = audio[0, :, :wanted].to(torch.float32).cpu().numpy().T  # (samples, channels)
    return np.ascontiguousarray(clip), new_tokens


def _inputs(
    music: MusicModel, params: AudioParams, melody: tuple[np.ndarray, int] | None
) -> dict[str, torch.Tensor]:
    encoded = dict(music.tokenizer([params.prompt], padding=True, return_tensors="pt"))
    if melody is not None and music.melody_config is not None:
        samples, rate = melody
        features = melody_features(samples.mean(axis=1), rate, music.melody_config)
        encoded["input_features"] = features.to(music.model.dtype)
    return {k: v.to(music.device) for k, v in encoded.items()}


def run(job: Job, params: AudioParams, progress: JobProgress) -> dict[str, Any]:
    aimodel = job.model
    music, _device = load_cached(job, progress, load, _nbytes)
    melody = _melody(params, music, aimodel)
    melody_digest = melody[2] if melody else None

    seed = params.seed if params.seed is not None else random.randrange(2**32)
    seed_everything(seed)
    if progress.cancel_requested:
        raise JobCancelled()
    started = time.monotonic()
    out_of_memory = (
        f"The GPU ran out of memory making {params.duration} s of audio. Ask for a "
        "shorter duration, or ask an admin to use a smaller MusicGen model."
    )
    with out_of_memory_becomes(out_of_memory):
        clip, new_tokens = generate_clip(music, params, melody[:2] if melody else None, progress)
    seconds = time.monotonic() - started
    progress.metrics.update(
        generate_seconds=round(seconds, 3),
        realtime_factor=round(params.duration / seconds, 3) if seconds > 0 else None,
    )

    saving = time.monotonic()
    record = _record(aimodel, music, params, seed, new_tokens, clip)
    if melody_digest:
        # The file's digest, not its artifact id: the same clip sent twice gives
        # the same record (and, on a CPU, the same file).
        record["melody_sha256"] = melody_digest
    data = encode_clip(clip, music.sampling_rate, params.format, record)
    artifact = artifacts.save_output(
        job,
        0,
        data,
        mime_type=MIME_TYPES[params.format],
        extension=params.format,
        thumbnail=waveforms.waveform_png(clip),
        thumbnail_extension="png",
        duration_seconds=round(len(clip) / music.sampling_rate, 3),
        sample_rate=music.sampling_rate,
        channels=clip.shape[1],
        seed=seed,
        record=record,
    )
    clip_out = {
        "artifact": str(artifact.pk),
        **artifacts.links(artifact),
        "format": params.format,
        "duration_seconds": artifact.duration_seconds,
        "sample_rate": artifact.sample_rate,
        "channels": artifact.channels,
        "seed": seed,
    }
    progress.metrics["save_seconds"] = round(time.monotonic() - saving, 3)  # record, file, waveform
    return {"clips": [clip_out], "seed": seed}


def _melody(params: AudioParams, music: MusicModel, aimodel: AIModel) -> Any:
    """(samples × channels, rate, SHA-256 of the file) of the melody clip, or None."""
    if params.melody is None:
        return None
    if not music.takes_melody:
        raise JobError(
            f"Model '{aimodel.name}' is not a melody model, so it cannot use a melody clip. "
            "Leave melody out, or pick a musicgen-melody model."
        )
    import soundfile

    _, data = artifacts.read_input_file(params.melody, "the melody clip")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as clip:
            # Never more than the allowed length, whatever the header claims.
            most = int(settings.GENHUB_AUDIO_MAX_MELODY_SECONDS * clip.samplerate)
            samples = clip.read(frames=most, dtype="float32", always_2d=True)
            rate = clip.samplerate
    except (soundfile.LibsndfileError, RuntimeError) as error:
        reason = without_internals(str(error))
        raise JobError(f"The melody clip could not be read as audio ({reason}).") from None
    return samples, rate, hashlib.sha256(data).hexdigest()


TAG_RECORD_LIMIT = 1500  # characters; libsndfile drops a WAV comment past ~2 KB


def encode_clip(clip: np.ndarray, sampling_rate: int, audio_format: str, record: dict) -> bytes:
    """The clip as a file of `audio_format`, with the generation record in its tags.

    The tags hold ASCII only (JSON escapes the rest): libsndfile marks MP3 text
    as Latin-1, so UTF-8 in it reads back garbled. A record too long for a tag
    (a long prompt) is cut short there; the Artifact row keeps it whole.
    """
    import soundfile

    container, codec = FILE_FORMATS[audio_format]
    comment = json.dumps(record, sort_keys=True)
    if len(comment) > TAG_RECORD_LIMIT:
        short = {**record, "prompt": record["prompt"][:200] + "…", "truncated": True}
        comment = json.dumps(short, sort_keys=True)[:TAG_RECORD_LIMIT]
    buffer = io.BytesIO()
    with soundfile.SoundFile(
        buffer,
        "w",
        samplerate=sampling_rate,
        channels=clip.shape[1],
        format=container,
        subtype=codec,
    ) as output:
        output.title = record["prompt"][:200].encode("ascii", "replace").decode("ascii")
        output.artist = f"GenHub ({record['model']})"
        output.software = "GenHub"
        output.comment = comment
        output.write(np.clip(clip, -1.0, 1.0))
    data = buffer.getvalue()
    try:
        soundfile.info(io.BytesIO(data))  # a file we could not read back is not a result
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise JobError(
            f"The {audio_format} file came out unreadable ({without_internals(str(error))}). "
            "Try another format."
        ) from error
    return data


def _record(
    aimodel: AIModel,
    music: MusicModel,
    params: AudioParams,
    seed: int,
    new_tokens: int,
    clip: np.ndarray,
) -> dict[str, Any]:
    """Everything needed to make this clip again."""
    import transformers

    record: dict[str, Any] = {
        "prompt": params.prompt,
        "model": aimodel.name,
        "model_revision": aimodel.revision,
        "duration": params.duration,
        "guidance_scale": params.guidance_scale,
        "temperature": params.temperature,
        "top_k": params.top_k,
        "top_p": params.top_p,
        "seed": seed,
        "format": params.format,
        "sample_rate": music.sampling_rate,
        "channels": int(clip.shape[1]),
        "new_tokens": new_tokens,
        "device": music.device,
        "dtype": str(music.model.dtype).removeprefix("torch."),
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
    }
    return record
