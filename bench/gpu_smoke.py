"""GPU smoke test: the real architectures, random weights, against published figures.

Every model is built in this process from a config written below (no hub, no
download), with random weights, directly on the device in half precision, then
timed. Random weights give the same work per step as trained ones, except that a
text model that never writes an end-of-sequence token always writes
`max_new_tokens` (which is what a benchmark wants).

  bandwidth   a large device-to-device copy (read + write bytes / seconds): the
              limit the decode figures are measured against, from this run
  Llama-2-7B  (hidden 4096, 32 layers, 32 heads, ffn 11008, vocab 32000), bf16,
              batch 1, greedy decode: tokens/s eager (dynamic cache), and with a
              static cache + torch.compile (transformers compiles the forward
              itself when the cache is static). % of the bandwidth limit =
              tokens/s / (bandwidth / bytes of weights read per token)
  SD 1.5      512x512, 50 steps, guidance 7.5, fp16: it/s = steps / pipeline
              seconds, end to end (text embeddings given, VAE decode included)
  SDXL        1024x1024, 50 steps, guidance 5, fp16: it/s as for SD 1.5
  MusicGen    small and medium decoders (T5-base text encoder, 32 kHz EnCodec),
              fp16, sampling with guidance 3: real-time factor = seconds of audio
              / seconds of generate; and the decoder's % of its bandwidth limit
  service     then GenHub's own runners on CUDA, every modality through
              execute_job as a worker runs it (bench/gpu_service.py)

Published figures beside them (other GPUs; the ratio to bandwidth is what
carries across): gpt-fast's Llama-2-7B bf16 on an A100-80GB, and fal.ai's
stable-diffusion-benchmarks for SD 1.5 and SDXL with diffusers on an A100 80G SXM.

The whole run takes a few minutes on one H100 or H200 (under 8). Without CUDA it
says `no CUDA device; skipped` and exits 0, unless `--tiny-cpu`: every model shrunk
to a few layers and run on the CPU, so that every code path runs on any machine
(its figures mean nothing).

    .venv/bin/python bench/gpu_smoke.py [--quick] [--tiny-cpu] [--only llama,sd15,sdxl,musicgen]
"""

import argparse
import functools
import gc
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The architectures' shapes, shared with the tiny builders (no torch at import).
from audiogen.tiny import DECODER_SIZES, decoder_config  # noqa: E402
from imagegen.tiny import SIZES as SD_SIZES  # noqa: E402

PARTS = ("llama", "sd15", "sdxl", "musicgen", "service")


# --- architectures ----------------------------------------------------------
# Full sizes are the released models' configs; "tiny" keeps each one's shape with a
# few small layers, for --tiny-cpu.

LLAMA_2_7B: dict[str, Any] = {
    "vocab_size": 32000,
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
}
LLAMA_TINY: dict[str, Any] = {
    **LLAMA_2_7B,
    "vocab_size": 512,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
}

# Stable Diffusion 1.5 as released, and the tiny one the tests use (imagegen/tiny.py);
# the UNet's cross-attention width is the text encoder's.
SD15: dict[str, Any] = SD_SIZES["sd15"]
SD_TINY: dict[str, Any] = SD_SIZES["tiny"]

SDXL: dict[str, Any] = {
    "text": {"hidden_size": 768, "intermediate_size": 3072, "layers": 12, "heads": 12},
    "text_2": {"hidden_size": 1280, "intermediate_size": 5120, "layers": 32, "heads": 20},
    "unet": {
        "sample_size": 128,
        "layers_per_block": 2,
        "block_out_channels": (320, 640, 1280),
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        "attention_head_dim": (5, 10, 20),
        "transformer_layers_per_block": (1, 2, 10),
        "cross_attention_dim": 2048,
        "use_linear_projection": True,
        "addition_embed_type": "text_time",
        "addition_time_embed_dim": 256,
        "projection_class_embeddings_input_dim": 256 * 6 + 1280,
    },
    "vae": {"block_out_channels": (128, 256, 512, 512), "layers_per_block": 2},
}
SDXL_TINY: dict[str, Any] = {
    "text": {"hidden_size": 32, "intermediate_size": 37, "layers": 2, "heads": 4},
    "text_2": {"hidden_size": 32, "intermediate_size": 37, "layers": 2, "heads": 4},
    "unet": {
        "sample_size": 8,
        "layers_per_block": 1,
        "block_out_channels": (32, 64),
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
        "attention_head_dim": (2, 4),
        "transformer_layers_per_block": (1, 2),
        "cross_attention_dim": 64,
        "use_linear_projection": True,
        "addition_embed_type": "text_time",
        "addition_time_embed_dim": 8,
        "projection_class_embeddings_input_dim": 8 * 6 + 32,
        "norm_num_groups": 8,
    },
    "vae": {"block_out_channels": (8, 8, 16, 16), "layers_per_block": 1, "norm_num_groups": 8},
}

# MusicGen: decoder (hidden, layers, heads, ffn), as released (audiogen/tiny.py).
MUSICGEN_DECODERS = {
    "small": DECODER_SIZES["musicgen-small"],
    "medium": DECODER_SIZES["musicgen-medium"],
}
T5_BASE: dict[str, Any] = {
    "vocab_size": 32128,
    "d_model": 768,
    "d_kv": 64,
    "d_ff": 3072,
    "layers": 12,
    "heads": 12,
}
ENCODEC_32KHZ: dict[str, Any] = {
    "sampling_rate": 32000,
    "upsampling_ratios": [8, 5, 4, 4],  # 640 samples a frame: 50 frames a second
    "codebook_size": 2048,
    "num_filters": 64,
    "hidden_size": 128,
    "num_lstm_layers": 2,
    "target_bandwidths": [2.2],  # 4 codebooks of 11 bits at 50 Hz
}
MUSICGEN_TINY = {"tiny": DECODER_SIZES["tiny"]}
T5_TINY: dict[str, Any] = {
    "vocab_size": 200,
    "d_model": 32,
    "d_kv": 8,
    "d_ff": 64,
    "layers": 2,
    "heads": 4,
}
ENCODEC_TINY: dict[str, Any] = {
    "sampling_rate": 16000,
    "upsampling_ratios": [8, 5, 4, 2],  # 320 samples a frame: 50 frames a second
    "codebook_size": 64,
    "num_filters": 4,
    "hidden_size": 16,
    "num_lstm_layers": 1,
    "target_bandwidths": [1.2],  # 4 codebooks of 6 bits at 50 Hz
}
FRAME_RATE = 50  # both codecs
NUM_CODEBOOKS = 4

# Published figures to set beside ours: (value, unit, where it was measured).
PUBLISHED = {
    "llama": (
        69.0,
        "% of spec bandwidth",
        "gpt-fast README: Llama-2-7B bf16, compiled, A100-80GB: 104.9 tokens/s, 1397 GB/s of 2039",
    ),
    "sd15": (31.19, "it/s", "fal-ai/stable-diffusion-benchmarks, diffusers SDPA, A100 80G SXM"),
    "sdxl": (8.43, "it/s", "fal-ai/stable-diffusion-benchmarks, diffusers SDPA, A100 80G SXM"),
}


@dataclass(frozen=True)
class Setup:
    device: str
    text_dtype: Any  # torch dtypes; Any keeps torch out of import time
    image_dtype: Any
    music_dtype: Any
    tiny: bool
    quick: bool
    bandwidth: float = 0.0  # bytes per second, from this run

    def name(self, figure: str) -> str:
        return f"tiny-cpu-{figure}" if self.tiny else figure


def result(setup: Setup, figure: str, value: float) -> None:
    print(f"RESULT {setup.name(figure)} {value:.4g}", flush=True)


def synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(setup: Setup) -> str:
    import torch

    if setup.device != "cuda":
        return "-"
    return f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"


def weight_bytes(module: Any, skip: Callable[[str], bool] = lambda name: False) -> int:
    return sum(p.numel() * p.element_size() for n, p in module.named_parameters() if not skip(n))


# --- bandwidth --------------------------------------------------------------


def measure_bandwidth(setup: Setup) -> float:
    """Bytes per second of a device-to-device copy: each copy reads and writes its size."""
    import torch

    size = (256 if setup.tiny else 4096) * 2**20
    source = torch.empty(size, dtype=torch.uint8, device=setup.device)
    target = torch.empty_like(source)
    target.copy_(source)
    synchronize(setup.device)
    repeats = 20
    started = time.perf_counter()
    for _ in range(repeats):
        target.copy_(source)
    synchronize(setup.device)
    seconds = time.perf_counter() - started
    del source, target
    free_memory()
    return 2 * size * repeats / seconds


# --- Llama-2-7B -------------------------------------------------------------


def bench_llama(setup: Setup) -> list[tuple[str, str, str]]:
    import torch
    from transformers import CompileConfig, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**(LLAMA_TINY if setup.tiny else LLAMA_2_7B))
    torch.manual_seed(0)
    with torch.device(setup.device):
        model = LlamaForCausalLM._from_config(config, dtype=setup.text_dtype).eval()
    # A decode step reads every weight once, except the embedding table (one row).
    per_token = weight_bytes(model, lambda name: "embed_tokens" in name)
    limit = setup.bandwidth / per_token
    new_tokens = 64 if setup.quick else 256
    prompt = torch.randint(100, config.vocab_size, (1, 16), device=setup.device)
    options = {
        "max_new_tokens": new_tokens,
        "min_new_tokens": new_tokens,
        "do_sample": False,
        "eos_token_id": None,
        "pad_token_id": 0,
    }

    def tokens_per_second(**extra: Any) -> float:
        with torch.inference_mode():
            synchronize(setup.device)
            started = time.perf_counter()
            output = model.generate(prompt, **options, **extra)
            synchronize(setup.device)
            seconds = time.perf_counter() - started
        made = output.shape[1] - prompt.shape[1]
        assert made == new_tokens, f"wrote {made} tokens, not {new_tokens}"
        return made / seconds

    tokens_per_second(disable_compile=True)  # warm-up: kernels, allocator
    eager = tokens_per_second(disable_compile=True)
    compile_config = CompileConfig(
        fullgraph=True, mode="reduce-overhead" if setup.device == "cuda" else "default"
    )
    # Compiling on a CPU is for --tiny-cpu only; transformers declares the flag as None.
    compile_config._compile_all_devices = setup.device != "cuda"  # type: ignore[assignment]
    static = {"cache_implementation": "static", "compile_config": compile_config}
    started = time.perf_counter()
    for _ in range(2):  # compiles, then records the CUDA graphs; same length: same shapes
        tokens_per_second(**static)
    warm_up = time.perf_counter() - started
    compiled = tokens_per_second(**static)

    print(
        f"\nLlama-2-7B{' (tiny)' if setup.tiny else ''}: {per_token / 2**30:.2f} GiB of weights "
        f"read per token ({setup.text_dtype}), limit {limit:.1f} tokens/s at "
        f"{setup.bandwidth / 1e9:.0f} GB/s; compile warm-up {warm_up:.0f} s; "
        f"peak {peak_gib(setup)}",
        flush=True,
    )
    result(setup, "llama2-7b-bandwidth-limit-tokens-per-s", limit)
    rows = []
    for label, figure, value in (
        ("eager", "eager", eager),
        ("static cache + compile", "static-compile", compiled),
    ):
        share = 100 * value / limit
        result(setup, f"llama2-7b-{figure}-tokens-per-s", value)
        result(setup, f"llama2-7b-{figure}-pct-of-bandwidth-limit", share)
        rows.append((f"Llama-2-7B {label}", f"{value:.1f} tokens/s", f"{share:.0f} %"))
    return rows


# --- Stable Diffusion -------------------------------------------------------


def clip_text(shape: dict[str, int], projection: bool, device: str) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=49408,
        hidden_size=shape["hidden_size"],
        intermediate_size=shape["intermediate_size"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        max_position_embeddings=77,
        projection_dim=shape["hidden_size"],
    )
    import torch

    with torch.device(device):
        return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config)


def bench_diffusion(setup: Setup, xl: bool) -> list[tuple[str, str, str]]:
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )

    shape = (SDXL_TINY if setup.tiny else SDXL) if xl else (SD_TINY if setup.tiny else SD15)
    side = 64 if setup.tiny else (1024 if xl else 512)
    steps = 10 if setup.quick else 50
    guidance = 5.0 if xl else 7.5
    torch.manual_seed(0)
    with torch.device(setup.device):
        unet_shape = {"cross_attention_dim": shape["text"]["hidden_size"], **shape["unet"]}
        unet = UNet2DConditionModel(in_channels=4, out_channels=4, **unet_shape)
        vae = AutoencoderKL(
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            latent_channels=4,
            sample_size=side,
            scaling_factor=0.13025 if xl else 0.18215,
            **shape["vae"],
        )
    text = clip_text(shape["text"], projection=False, device=setup.device)
    ids = torch.randint(0, 49407, (1, 77), device=setup.device)
    call: dict[str, Any]
    with torch.inference_mode():
        if xl:
            text_2 = clip_text(shape["text_2"], projection=True, device=setup.device)
            first = text(ids, output_hidden_states=True).hidden_states[-2]
            second = text_2(ids, output_hidden_states=True)
            embeds = torch.cat([first, second.hidden_states[-2]], dim=-1)
            call = {
                "prompt_embeds": embeds,
                "negative_prompt_embeds": torch.zeros_like(embeds),
                "pooled_prompt_embeds": second.text_embeds,
                "negative_pooled_prompt_embeds": torch.zeros_like(second.text_embeds),
            }
        else:
            embeds = text(ids)[0]
            call = {"prompt_embeds": embeds, "negative_prompt_embeds": torch.zeros_like(embeds)}
    components: dict[str, Any] = {
        "unet": unet,
        "vae": vae,
        "text_encoder": text,
        "tokenizer": None,  # the text embeddings are given
        "scheduler": EulerDiscreteScheduler(steps_offset=1),
    }
    if xl:
        pipe: Any = StableDiffusionXLPipeline(
            **components, text_encoder_2=text_2, tokenizer_2=None, add_watermarker=False
        )
    else:
        pipe = StableDiffusionPipeline(
            **components,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    pipe.to(setup.device, setup.image_dtype)
    call = {k: v.to(setup.image_dtype) for k, v in call.items()}
    pipe.set_progress_bar_config(disable=True)

    def seconds(count: int) -> float:
        synchronize(setup.device)
        started = time.perf_counter()
        with torch.inference_mode():
            pipe(
                **call,
                height=side,
                width=side,
                num_inference_steps=count,
                guidance_scale=guidance,
                generator=torch.Generator("cpu").manual_seed(0),
                output_type="pt",
            )
        synchronize(setup.device)
        return time.perf_counter() - started

    seconds(3)  # warm-up: kernels, allocator
    its = steps / seconds(steps)
    name = "sdxl" if xl else "sd15"
    label = f"{'SDXL' if xl else 'SD 1.5'} {side}x{side}, {steps} steps"
    print(
        f"\n{label}{' (tiny)' if setup.tiny else ''}: UNet "
        f"{weight_bytes(unet) / setup.image_dtype.itemsize / 1e6:.0f} M parameters "
        f"({setup.image_dtype}), {its:.2f} it/s end to end; peak {peak_gib(setup)}",
        flush=True,
    )
    result(setup, f"{name}-{side}-it-per-s", its)
    return [(label, f"{its:.2f} it/s", "-")]


# --- MusicGen ---------------------------------------------------------------


def build_musicgen(setup: Setup, size: str) -> Any:
    import math

    import torch
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    t5 = T5_TINY if setup.tiny else T5_BASE
    codec = ENCODEC_TINY if setup.tiny else ENCODEC_32KHZ
    hidden, layers, heads, ffn = (MUSICGEN_TINY if setup.tiny else MUSICGEN_DECODERS)[size]
    assert codec["sampling_rate"] // math.prod(codec["upsampling_ratios"]) == FRAME_RATE
    no_code_yet = codec["codebook_size"]  # pad, bos and decoder start (see audiogen/tiny.py)
    decoder = decoder_config(no_code_yet, NUM_CODEBOOKS, hidden, layers, heads, ffn)
    config = MusicgenConfig(
        text_encoder=T5Config(
            vocab_size=t5["vocab_size"],
            d_model=t5["d_model"],
            d_kv=t5["d_kv"],
            d_ff=t5["d_ff"],
            num_layers=t5["layers"],
            num_heads=t5["heads"],
        ),
        audio_encoder=EncodecConfig(
            audio_channels=1,
            use_causal_conv=False,
            use_conv_shortcut=False,
            normalize=False,
            **codec,
        ),
        decoder=decoder,
    )
    torch.manual_seed(0)
    with torch.device(setup.device):
        model = MusicgenForConditionalGeneration(config)
    model.generation_config.pad_token_id = no_code_yet
    model.generation_config.bos_token_id = no_code_yet
    model.generation_config.decoder_start_token_id = no_code_yet
    return model.to(setup.music_dtype).eval()


def bench_musicgen(setup: Setup, size: str) -> list[tuple[str, str, str]]:
    import torch

    model = build_musicgen(setup, size)
    # A step reads the decoder's weights once (its codebook embeddings: one row each).
    per_step = weight_bytes(model.decoder, lambda name: ".embed_tokens." in name)
    limit_rtf = setup.bandwidth / per_step / FRAME_RATE
    duration = 5.0 if setup.quick or setup.tiny else 10.0
    frames = int(duration * FRAME_RATE)
    ids = torch.randint(3, model.config.text_encoder.vocab_size, (1, 12), device=setup.device)

    def rtf(seconds_of_audio: float) -> float:
        steps = int(seconds_of_audio * FRAME_RATE) + NUM_CODEBOOKS - 1
        synchronize(setup.device)
        started = time.perf_counter()
        with torch.inference_mode():
            audio = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                do_sample=True,
                guidance_scale=3.0,
                top_k=250,
                max_new_tokens=steps,
                # Random fp16 weights may overflow somewhere; sampling must not stop on it.
                remove_invalid_values=True,
            )
        synchronize(setup.device)
        seconds = time.perf_counter() - started
        assert audio.shape[-1] >= (frames if seconds_of_audio == duration else 1)
        return seconds_of_audio / seconds

    def decode_seconds() -> float:
        """The EnCodec decode of a whole clip's codes alone, the largest part of
        generate that is not a decoder step (on the first GPU run both sizes took
        the same time). What is left per step also carries the T5 encoding of the
        prompt, once, a few milliseconds."""
        codebook_size = model.config.audio_encoder.codebook_size
        codes = torch.randint(0, codebook_size, (1, 1, NUM_CODEBOOKS, frames), device=setup.device)
        with torch.inference_mode():
            model.audio_encoder.decode(codes, [None])  # warm-up: this length's kernels
            synchronize(setup.device)
            started = time.perf_counter()
            model.audio_encoder.decode(codes, [None])
            synchronize(setup.device)
        return time.perf_counter() - started

    rtf(1.0)  # warm-up
    measured = rtf(duration)
    share = 100 * measured / limit_rtf
    decode = decode_seconds()
    per_step_ms = 1000 * (duration / measured - decode) / (frames + NUM_CODEBOOKS - 1)
    label = f"MusicGen {size}, {duration:.0f} s clip"
    print(
        f"\n{label}: decoder {per_step / 2**30:.2f} GiB read per step ({setup.music_dtype}), "
        f"limit {limit_rtf:.1f} x real time; {measured:.2f} x real time; of its "
        f"{duration / measured:.1f} s, EnCodec decode {decode:.2f} s and {per_step_ms:.1f} ms "
        f"a decoder step; peak {peak_gib(setup)}",
        flush=True,
    )
    result(setup, f"musicgen-{size}-encodec-decode-s", decode)
    result(setup, f"musicgen-{size}-ms-per-step", per_step_ms)
    result(setup, f"musicgen-{size}-realtime-factor", measured)
    result(setup, f"musicgen-{size}-pct-of-bandwidth-limit", share)
    return [(label, f"{measured:.2f} x real time", f"{share:.0f} %")]


def bench_service() -> list[tuple[str, str, str]]:
    from bench.gpu_service import smoke_all

    print("\nGenHub's runners on CUDA, every modality (bench/gpu_service.py)", flush=True)
    if not smoke_all("auto"):
        raise RuntimeError("a modality failed on CUDA or ran outside half precision")
    return [("GenHub runners, every modality, execute_job", "PASS", "-")]


# --- run --------------------------------------------------------------------


def run(setup: Setup, parts: list[str]) -> bool:
    import torch

    started = time.perf_counter()
    where = torch.cuda.get_device_name() if setup.device == "cuda" else "CPU"
    print(f"device {where}; torch {torch.__version__}", flush=True)
    bandwidth = measure_bandwidth(setup)
    setup = Setup(**{**setup.__dict__, "bandwidth": bandwidth})
    print(f"copy bandwidth {bandwidth / 1e9:.0f} GB/s (read + write)", flush=True)
    result(setup, "gpu-copy-bandwidth-gb-per-s", bandwidth / 1e9)

    benches: list[tuple[str, Callable[[], list[tuple[str, str, str]]]]] = []
    if "llama" in parts:
        benches.append(("llama", lambda: bench_llama(setup)))
    if "sd15" in parts:
        benches.append(("sd15", lambda: bench_diffusion(setup, xl=False)))
    if "sdxl" in parts:
        benches.append(("sdxl", lambda: bench_diffusion(setup, xl=True)))
    if "musicgen" in parts:
        for size in ("tiny",) if setup.tiny else ("small", "medium"):
            benches.append(("musicgen", functools.partial(bench_musicgen, setup, size)))
    if "service" in parts and not setup.tiny:  # needs CUDA: GENHUB_DEVICE=cuda
        benches.append(("service", bench_service))

    rows: list[tuple[str, str, str, str]] = []
    failed = []
    for part, bench in benches:
        part_started = time.perf_counter()
        try:
            found = bench()
        except Exception:
            traceback.print_exc()
            failed.append(part)
            continue
        finally:
            free_memory()  # the bench's models are gone with its frame
        published = PUBLISHED.get(part)
        note = f"{published[0]:g} {published[1]} ({published[2]})" if published else "-"
        rows += [(*row, note) for row in found]
        print(f"  ({time.perf_counter() - part_started:.0f} s)", flush=True)

    total = time.perf_counter() - started
    print(f"\nGPU smoke on {where}, {bandwidth / 1e9:.0f} GB/s copy bandwidth, {total:.0f} s\n")
    print("| model | measured | of the bandwidth limit | published |")
    print("| --- | ---: | ---: | --- |")
    for label, measured, share, note in rows:
        print(f"| {label} | {measured} | {share} | {note} |")
    print()
    for part in failed:
        print(f"FAIL  {part} (traceback above)")
    print(f"{'PASS' if not failed else 'FAIL'}  every model ran, in {total:.0f} s")
    return not failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer tokens, steps and seconds")
    parser.add_argument(
        "--tiny-cpu",
        action="store_true",
        help="shrink every model and run on the CPU: the code paths, not the figures",
    )
    parser.add_argument(
        "--only",
        type=lambda s: [p for p in s.split(",") if p],
        default=list(PARTS),
        help=f"comma-separated, of {', '.join(PARTS)} (default all)",
    )
    args = parser.parse_args(argv)

    import torch

    if args.tiny_cpu:
        half = torch.float32  # CPU kernels for half precision are slow or missing
        setup = Setup("cpu", half, half, half, tiny=True, quick=True)
    elif torch.cuda.is_available():
        text = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        setup = Setup("cuda", text, torch.float16, torch.float16, tiny=False, quick=args.quick)
    else:
        print("no CUDA device; skipped")
        return 0
    return 0 if run(setup, args.only) else 1


if __name__ == "__main__":
    sys.exit(main())
