"""The melody a musicgen-melody model follows: a chromagram of the reference clip,
one note class (of 12) per frame.

transformers' own feature extractor for these models needs torchaudio, which has
no release for this torch; this is the same computation in torch alone. Power
spectrogram (Hann window, reflect-padded and centred frames), the librosa-style
chroma filter bank, and at each frame the strongest note class set to 1 and the
rest to 0. The one-hot step makes any scaling of the spectrogram irrelevant.
"""

from typing import Any

import numpy as np
import torch


def melody_features(samples: np.ndarray, rate: int, config: dict[str, Any]) -> torch.Tensor:
    """(1, frames, num_chroma) one-hot chroma of a mono clip, for `input_features`.

    `config` is the model's preprocessor_config.json: sampling_rate, n_fft,
    hop_length, chunk_length (seconds kept) and num_chroma.
    """
    from transformers.audio_utils import chroma_filter_bank

    wanted_rate = int(config.get("sampling_rate", 32000))
    n_fft = int(config.get("n_fft", 16384))
    hop = int(config.get("hop_length", 4096))
    num_chroma = int(config.get("num_chroma", 12))
    keep = int(config.get("chunk_length", 30) * wanted_rate)

    wave = torch.from_numpy(resample(samples, rate, wanted_rate)[:keep])
    if len(wave) < n_fft:  # too short for one window: pad both sides with silence
        missing = n_fft - len(wave)
        wave = torch.nn.functional.pad(wave, (missing // 2, missing - missing // 2))
    spectrum = torch.stft(
        wave,
        n_fft=n_fft,
        hop_length=hop,
        win_length=n_fft,
        window=torch.hann_window(n_fft),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    power = spectrum.abs() ** 2  # (frequencies, frames)
    filters = torch.from_numpy(
        chroma_filter_bank(
            num_frequency_bins=n_fft, num_chroma=num_chroma, sampling_rate=wanted_rate, tuning=0
        )
    ).float()
    chroma = torch.einsum("cf,ft->tc", filters, power)  # (frames, num_chroma)
    one_hot = torch.zeros_like(chroma)
    one_hot.scatter_(1, chroma.argmax(dim=1, keepdim=True), 1.0)
    return one_hot.unsqueeze(0)


def resample(mono: np.ndarray, rate: int, wanted: int) -> np.ndarray:
    """Linear resampling: enough for which note sounds loudest in a 0.1 s frame."""
    mono = np.asarray(mono, dtype=np.float32)
    if rate == wanted:
        return mono
    positions = np.arange(round(len(mono) * wanted / rate)) * (rate / wanted)
    return np.interp(positions, np.arange(len(mono)), mono).astype(np.float32)
