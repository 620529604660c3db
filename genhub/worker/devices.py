"""Where a model runs and in which precision. Imported by workers only (torch)."""

import logging
from typing import Any

from django.conf import settings

from genhub.errors import JobError

log = logging.getLogger(__name__)


def pick_device(model_policy: str = "auto") -> str:
    """'cuda' or 'cpu', from GENHUB_DEVICE and the model's own policy."""
    import torch

    wanted = model_policy if model_policy != "auto" else settings.GENHUB_DEVICE
    if wanted == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if wanted == "cuda":
        raise JobError(
            "This model is set to run on CUDA, but the worker has no usable GPU. "
            "Ask an admin to set the model's device to auto or cpu."
        )
    return "cpu"


def pick_dtype(dtype: str, device: str) -> Any:
    """Half precision on CUDA (bf16 where the GPU supports it), float32 on CPU."""
    import torch

    if dtype != "auto":
        return getattr(torch, dtype)
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def cpu_computes_bf16(torch: Any = None) -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX tiles or AVX-512 BF16:
    recent Xeons, Zen 4). There a bfloat16 model is faster than float32, and a batch
    of images gains what batching gains on a GPU (docs/models.md, "Precision on
    CPU"); elsewhere torch emulates bfloat16 and it is slower. `auto` stays float32
    on every CPU all the same, so a seed gives the same image on any machine.
    `torch`: the module, from a caller that must not import it itself."""
    if torch is None:
        import torch
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # torch.cpu, private
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def total_memory(device: str) -> int:
    """Bytes of memory on `device`: the GPU's own, or the machine's RAM for 'cpu'."""
    if device.startswith("cuda"):
        import torch

        index = torch.device(device).index
        if index is None:
            index = torch.cuda.current_device()
        return int(torch.cuda.get_device_properties(index).total_memory)
    import psutil

    return int(psutil.virtual_memory().total)


def free_cuda_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def seed_everything(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
