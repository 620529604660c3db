"""A tiny random-weight MusicGen, built offline in seconds, saved in the
transformers layout and loaded through the same code as any real
facebook/musicgen-* checkpoint (audiogen/runner.py: `AutoTokenizer` and
`AutoModelForTextToWaveform.from_pretrained`; a melody model's chromagram is
made by audiogen/chroma.py, since its processor would need torchaudio).

Three sub-models, as in the real ones: a T5 text encoder, an EnCodec audio codec
and a decoder that predicts NUM_CODEBOOKS parallel streams of codec tokens.
The T5 tokenizer is a Unigram model trained here on a few sentences.

Time: EnCodec turns one frame of NUM_CODEBOOKS codes into HOP_LENGTH samples, so
FRAME_RATE = SAMPLING_RATE / prod(UPSAMPLING_RATIOS) = 16000 / 320 = 50 frames a
second, the same as the real 32 kHz models (32000 / 640). The decoder works with
a delay pattern: codebook k lags k steps behind codebook 0, so the first
NUM_CODEBOOKS - 1 steps give no whole frame. `generate(max_new_tokens=N)` returns
(N + 1 - NUM_CODEBOOKS) frames, that is (N - 3) * 320 samples here (once
N >= 2 * NUM_CODEBOOKS - 2; below that transformers skips the pattern and gives N
frames); D seconds take D * FRAME_RATE + NUM_CODEBOOKS - 1 new tokens.

Traps:
- EnCodec's number of quantizers is derived, not set:
  int(1000 * target_bandwidths[-1] // (frame_rate * log2(codebook_size))). With
  the default bandwidths and a small codebook it is not what the decoder expects,
  and with too small a bandwidth it is zero; we pick the bandwidth that gives
  exactly NUM_CODEBOOKS, as the real models do (2.2 kbps for 4 x 2048 at 50 Hz).
- The decoder's pad, bos and decoder-start token ids must all be codebook_size:
  the decoder's embedding has codebook_size + 1 rows and the last row is the
  "no code yet" token that fills the delay pattern. (transformers warns that
  these ids lie outside the vocabulary; it warns for every real MusicGen too.)
- EnCodec's codebooks are buffers that start as zeros (real ones are learned), so
  a freshly built codec decodes every code to the same sound and the audio would
  not depend on the tokens, nor on the seed. We fill them with random vectors.
"""

import json
import math
import string
from pathlib import Path
from typing import Any

SAMPLING_RATE = 16_000
UPSAMPLING_RATIOS = [8, 5, 4, 2]
HOP_LENGTH = math.prod(UPSAMPLING_RATIOS)  # samples per frame
FRAME_RATE = SAMPLING_RATE // HOP_LENGTH  # 50 Hz
NUM_CODEBOOKS = 4  # as in musicgen-small/medium/large (mono)
CODEBOOK_SIZE = 64  # a power of two, as EnCodec requires
MAX_LENGTH = 1500  # the real models' default: 1 start token + 1499 steps, about 30 s

CORPUS = """lo-fi beat with warm piano chords and vinyl crackle
an upbeat pop song with drums, bass and a catchy synth melody
calm ambient pads, slow tempo, 60 bpm
80s synthwave with a driving bassline; electric guitar solo
acoustic folk melody for a rainy day
"""


def _train_t5_vocab() -> list[tuple[str, float]]:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    unigram = Tokenizer(models.Unigram())
    unigram.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=200,
        # T5's layout: <pad>=0, </s>=1, <unk>=2 (T5Tokenizer hard-codes unk_id=2).
        special_tokens=["<pad>", "</s>", "<unk>"],
        unk_token="<unk>",
        show_progress=False,
    )
    unigram.train_from_iterator(CORPUS.splitlines() * 4, trainer=trainer)
    trained = json.loads(unigram.to_str())["model"]["vocab"]
    # The trainer sums in parallel and lists equal scores in any order: round away the
    # noise and sort (the three specials stay first), so every build gives each piece the same id.
    specials = [(piece, 0.0) for piece, _ in trained[:3]]
    pieces = sorted((-round(score, 6), piece) for piece, score in trained[3:])
    vocab = specials + [(piece, -negated) for negated, piece in pieces]
    # Every printable ASCII character, so any English prompt tokenizes without <unk>. (The
    # trainer's initial_alphabet would add them too, but with scores in a random order.)
    known, rarest = {piece for piece, _ in vocab}, min(score for _, score in vocab) - 1.0
    extra = sorted(set(string.ascii_letters + string.digits + string.punctuation) - known)
    return vocab + [(char, rarest) for char in extra]


# Decoder sizes: (hidden, layers, heads, ffn). "tiny" is for tests; "small" gives a
# CPU benchmark enough work per step; "musicgen-small" is the released small
# model's decoder (300M parameters, random weights) for GPU benchmarks.
DECODER_SIZES = {
    "tiny": (64, 2, 4, 128),
    "small": (512, 8, 8, 2048),
    "musicgen-small": (1024, 24, 16, 4096),
    "musicgen-medium": (1536, 48, 24, 6144),
}


# A melody model's preprocessor_config.json, scaled to the tiny codec's 16 kHz:
# chroma frames of 1024 samples from a 4096-point transform.
MELODY_FEATURES = {
    "feature_extractor_type": "MusicgenMelodyFeatureExtractor",
    "feature_size": 12,
    "sampling_rate": SAMPLING_RATE,
    "hop_length": 1024,
    "n_fft": 4096,
    "chunk_length": 30,
    "num_chroma": 12,
    "padding_value": 0.0,
    "return_attention_mask": False,
    "stem_indices": [3, 2],
}


def decoder_config(
    codebook_size: int, num_codebooks: int, hidden: int, layers: int, heads: int, ffn: int
) -> Any:
    """MusicGen's decoder config for a codec of `codebook_size` codes: pad, bos and
    decoder start are all the extra "no code yet" token (see the traps above).
    bench/gpu_smoke.py builds the full-size decoders with it too."""
    from transformers import MusicgenDecoderConfig

    no_code_yet = codebook_size
    decoder = MusicgenDecoderConfig(
        vocab_size=codebook_size,
        num_codebooks=num_codebooks,
        hidden_size=hidden,
        ffn_dim=ffn,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=2048,
        pad_token_id=no_code_yet,
        bos_token_id=no_code_yet,
    )
    # Not a declared field of the decoder config, but training (forward with labels) reads it.
    decoder.decoder_start_token_id = no_code_yet
    return decoder


def build_tiny_music_model(target: Path, size: str = "tiny", melody: bool = False) -> Path:
    """A tiny MusicGen, or with `melody` a tiny musicgen-melody (conditioned on a
    chromagram as well as the text)."""
    import torch
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        GenerationConfig,
        MusicgenConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
        T5Config,
        T5Tokenizer,
    )
    from transformers.models.encodec.modeling_encodec import EncodecEuclideanCodebook

    tokenizer = T5Tokenizer(vocab=_train_t5_vocab(), extra_ids=0, model_max_length=512)
    feature_extractor = EncodecFeatureExtractor(
        feature_size=1, sampling_rate=SAMPLING_RATE, padding_value=0.0, padding_side="left"
    )

    text_encoder = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    codebook_bits = math.ceil(math.log2(CODEBOOK_SIZE))
    audio_encoder = EncodecConfig(
        sampling_rate=SAMPLING_RATE,
        audio_channels=1,
        upsampling_ratios=UPSAMPLING_RATIOS,
        hidden_size=16,
        num_filters=4,
        num_lstm_layers=1,
        codebook_size=CODEBOOK_SIZE,
        # kbps that buys exactly NUM_CODEBOOKS quantizers: 4 * 50 * 6 / 1000 = 1.2.
        target_bandwidths=[NUM_CODEBOOKS * FRAME_RATE * codebook_bits / 1000],
        # As in the real musicgen codecs.
        use_causal_conv=False,
        use_conv_shortcut=False,
    )
    no_code_yet = CODEBOOK_SIZE
    # Wider than the text encoder, like the real models, so the projection between them exists.
    decoder = decoder_config(CODEBOOK_SIZE, NUM_CODEBOOKS, *DECODER_SIZES[size])

    torch.manual_seed(0)
    if melody:
        from transformers import (
            MusicgenMelodyConfig,
            MusicgenMelodyDecoderConfig,
            MusicgenMelodyForConditionalGeneration,
        )

        melody_decoder = MusicgenMelodyDecoderConfig(**decoder.to_dict())
        model: Any = MusicgenMelodyForConditionalGeneration(
            MusicgenMelodyConfig(
                text_encoder=text_encoder,
                audio_encoder=audio_encoder,
                decoder=melody_decoder,
                num_chroma=12,
                chroma_length=235,
            )
        )
        with torch.no_grad():
            # At the usual initial scale (std 0.02) the 12-wide one-hot chroma is lost
            # among the text states and every melody gives the same codes; a larger
            # scale lets a test hear which melody it was given.
            model.audio_enc_to_dec_proj.weight.normal_(0.0, 0.6)
    else:
        model = MusicgenForConditionalGeneration(
            MusicgenConfig(text_encoder=text_encoder, audio_encoder=audio_encoder, decoder=decoder)
        )
    with torch.no_grad():
        for module in model.audio_encoder.modules():
            if isinstance(module, EncodecEuclideanCodebook):
                module.embed.copy_(torch.randn_like(module.embed))
                # A consistent EMA state, as a trained codebook has: embed = embed_avg / cluster_size.
                module.embed_avg.copy_(module.embed)
                module.cluster_size.fill_(1.0)
    model.generation_config = GenerationConfig(
        do_sample=True,
        guidance_scale=3.0,
        max_length=MAX_LENGTH,
        pad_token_id=no_code_yet,
        bos_token_id=no_code_yet,
        decoder_start_token_id=no_code_yet,
    )

    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    if melody:
        # Its feature extractor class needs torchaudio (see audiogen/chroma.py): the
        # tokenizer and the feature settings are written without it.
        tokenizer.save_pretrained(target)
        (target / "preprocessor_config.json").write_text(json.dumps(MELODY_FEATURES, indent=2))
    else:
        processor = MusicgenProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer)
        processor.save_pretrained(target)
    return target
