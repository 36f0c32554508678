"""Model checkpoints: ``model.safetensors`` (weights) + ``model.json`` (the model card).

The JSON holds everything needed to rebuild and trust the model: the network config,
the noise ladder, the lift, the task's operator, the training recipe (data, size,
iterations, time) and measured quality. Both files are written atomically.

This module knows the file format only: every function takes the path of a model (a folder,
or a ``.safetensors``/``.json`` file of a pair). Which model ``None`` means (the shipped one of
a task's default method) and how a card becomes a network are the registry's
(:func:`chromaprior.models.registry.resolve_model_path`, :func:`~chromaprior.models.registry.load_model`).
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file

from torch import nn

from ..core.errors import InputError
from ..core.io import atomic_write

__all__ = [
    "save_model",
    "load_weights",
    "read_card",
    "record_quality",
    "model_folder",
    "export_model",
    "model_files",
    "FORMAT",
]

FORMAT = "chromaprior-model/1"


def model_folder(path: str | Path) -> Path:
    """The folder (or ``.safetensors``/``.json`` file) of a saved model; FileNotFoundError otherwise."""
    p = Path(path)
    if p.is_dir():
        return p
    if p.suffix in (".safetensors", ".json") and p.with_suffix(".json").exists():
        return p.parent if p.name in ("model.safetensors", "model.json") else p
    raise FileNotFoundError(f"no model at {p} (expected a folder with model.safetensors + model.json)")


def model_files(path: str | Path) -> tuple[Path, Path]:
    """``(weights, card)`` file paths of a model folder (or of one file of a pair)."""
    return _files(model_folder(path))


def _files(path: Path) -> tuple[Path, Path]:
    if path.is_dir():
        return path / "model.safetensors", path / "model.json"
    return path.with_suffix(".safetensors"), path.with_suffix(".json")


def read_card(path: str | Path) -> dict:
    """The model card (``model.json``) of a model."""
    _, card = _files(model_folder(path))
    if not card.exists():
        raise FileNotFoundError(f"model card not found: {card}")
    try:
        meta = json.loads(card.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"model card {card} is not valid JSON: {e}") from None
    if meta.get("format") != FORMAT:
        raise InputError(f"{card} is not a chromaprior model card (format {meta.get('format')!r})")
    return meta


def save_model(folder: str | Path, net: nn.Module, state_dict: dict, card: dict) -> None:
    """Write ``state_dict`` (e.g. EMA weights of ``net``) and the card into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    card = dict(card, format=FORMAT, net=net.config.to_dict())
    if hasattr(net, "sigmas"):  # score networks
        card["sigmas"] = net.sigmas.tolist()
    frozen = net.frozen_prefixes() if hasattr(net, "frozen_prefixes") else ()  # pretrained, not stored
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items() if not k.startswith(frozen)}
    atomic_write(folder / "model.safetensors", lambda f: save_file(tensors, f))
    atomic_write(folder / "model.json", lambda f: Path(f).write_text(json.dumps(card, indent=2) + "\n"))


def record_quality(path: str | Path, key: str, value: dict) -> None:
    """Store a measured result in the model card under ``quality[key]`` (atomic rewrite)."""
    folder = model_folder(path)
    _, card_path = _files(folder)
    card = read_card(folder)
    card.setdefault("quality", {})[key] = value
    atomic_write(card_path, lambda f: Path(f).write_text(json.dumps(card, indent=2) + "\n"))


def load_weights(net: nn.Module, path: str | Path) -> nn.Module:
    """Load the weights of the model at ``path`` into ``net`` (built from its card); the keys
    must match the network's exactly (frozen pretrained parts excepted). Returns ``net`` in eval mode."""
    weights, _ = _files(model_folder(path))
    try:
        state = load_file(str(weights))
    except Exception as e:  # safetensors raises its own error types
        raise InputError(f"cannot read weights {weights}: {e}") from None
    own = net.state_dict()
    frozen = net.frozen_prefixes() if hasattr(net, "frozen_prefixes") else ()  # pretrained, not stored
    missing = [k for k in own if k not in state and not k.startswith(frozen)]
    unexpected = [k for k in state if k not in own or k.startswith(frozen)]  # frozen: never from this file
    reshaped = [k for k in state if k in own and state[k].shape != own[k].shape]
    if missing or unexpected or reshaped:
        raise InputError(f"weights {weights} do not match the card (missing {missing[:3]}, unexpected "
                         f"{unexpected[:3]}, other shapes {reshaped[:3]})")
    net.load_state_dict(state, strict=False)
    return net.eval()


def export_model(src: str | Path, dst: str | Path, half: bool = True) -> None:
    """Copy a model (weights + card, not the training state) to ``dst``, optionally with
    float16 weights (half the size; loading casts them back to float32)."""
    src, dst = model_folder(src), Path(dst)
    weights, _ = _files(src)
    card = json.loads(_files(src)[1].read_text())
    tensors = load_file(str(weights))
    if half:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
        card["weights_dtype"] = "float16"
    dst.mkdir(parents=True, exist_ok=True)
    atomic_write(dst / "model.safetensors", lambda f: save_file(tensors, f))
    atomic_write(dst / "model.json", lambda f: Path(f).write_text(json.dumps(card, indent=2) + "\n"))
