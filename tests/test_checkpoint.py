"""Model checkpoints: save/load round trip, refused cards and weights, half-precision export,
file paths, recorded quality."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from chromaprior.models.checkpoint import FORMAT, export_model, model_files, read_card, record_quality, save_model
from chromaprior.core.errors import InputError
from chromaprior.models.registry import load_model, resolve_model_path, shipped_model
from chromaprior.training.loop import TrainConfig, make_net


def test_save_load_round_trip(tmp_path):
    config = TrainConfig(ngf=4, size=16, num_levels=3, sigma_min=0.05)
    torch.manual_seed(0)
    net = make_net(config)
    state = {k: v + 0.5 for k, v in net.state_dict().items()}  # e.g. EMA weights, not the raw ones
    save_model(tmp_path / "m", net, state, {"method": "jgm", "task": "colorize", "lift": config.lift().to_config()})
    back, card = load_model(tmp_path / "m")
    assert not back.training and card["format"] == FORMAT and card["method"] == "jgm"
    assert card["net"] == net.config.to_dict() and torch.allclose(torch.tensor(card["sigmas"]), net.sigmas)
    assert back.state_dict().keys() == state.keys()
    assert all(torch.equal(back.state_dict()[k], state[k]) for k in state)
    assert load_model(tmp_path / "m" / "model.json")[1] == card  # the folder, or a file of it


def _copy(model, tmp_path) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(model, folder)
    return folder


def _edit_card(folder: Path, **changes) -> None:
    card = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps(card | changes))


def test_a_wrong_card_is_refused(tiny_model, tmp_path):
    folder = _copy(tiny_model, tmp_path)
    _edit_card(folder, format="another-model/2")
    with pytest.raises(InputError, match="not a chromaprior model card"):
        load_model(folder)
    (folder / "model.json").write_text("{ not json")
    with pytest.raises(InputError, match="not valid JSON"):
        read_card(folder)
    shutil.copy(Path(tiny_model) / "model.json", folder / "model.json")
    _edit_card(folder, method="no-such-method")
    with pytest.raises(InputError, match="unknown method"):
        load_model(folder)
    _edit_card(folder, method="jgm", net={"bogus": 1})
    with pytest.raises(InputError):
        load_model(folder)
    (folder / "model.json").unlink()
    with pytest.raises(FileNotFoundError, match="no model at"):
        load_model(folder / "model.json")
    with pytest.raises(FileNotFoundError, match="model card not found"):
        load_model(folder)


@pytest.mark.parametrize("case", ["other network", "wider network", "corrupt file"])
def test_weights_that_do_not_match_the_card_are_refused(case, tiny_model, tiny_unet_model, tmp_path):
    folder = _copy(tiny_model, tmp_path)
    weights = folder / "model.safetensors"
    if case == "other network":  # a U-Net's weights beside a JGM card: missing and unexpected keys
        shutil.copy(Path(tiny_unet_model) / "model.safetensors", weights)
    elif case == "wider network":  # the same keys, other shapes
        state = load_file(str(weights))
        save_file({k: torch.cat([v, v]) if v.ndim else v for k, v in state.items()}, str(weights))
    else:
        weights.write_bytes(b"not safetensors")
    with pytest.raises(InputError, match="do not match the card" if case != "corrupt file" else "cannot read weights"):
        load_model(folder)


def test_export_half_precision_loads_and_matches(tiny_unet_model, tmp_path):
    export_model(tiny_unet_model, tmp_path / "half")
    full, _ = load_model(tiny_unet_model)
    half, card = load_model(tmp_path / "half")
    assert card["weights_dtype"] == "float16"
    stored = load_file(str(tmp_path / "half" / "model.safetensors")).values()
    assert all(v.dtype == torch.float16 for v in stored if v.is_floating_point())
    assert all(v.dtype == torch.float32 for v in half.state_dict().values() if v.is_floating_point())
    size = lambda folder: (Path(folder) / "model.safetensors").stat().st_size  # noqa: E731
    assert size(tmp_path / "half") < 0.6 * size(tiny_unet_model)
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(full(x), half(x), atol=2e-2)
    export_model(tiny_unet_model, tmp_path / "full", half=False)
    assert load_file(str(tmp_path / "full" / "model.safetensors")).keys() == load_file(
        str(Path(tiny_unet_model) / "model.safetensors")).keys()
    assert "weights_dtype" not in read_card(tmp_path / "full")


def test_model_files_of_folders_file_pairs_and_shipped_defaults(tiny_model, tmp_path):
    folder = Path(tiny_model)
    assert model_files(folder) == (folder / "model.safetensors", folder / "model.json")
    assert model_files(resolve_model_path(None)) == model_files(shipped_model("steerable"))
    assert model_files(resolve_model_path(None, "restore"))[1] == shipped_model("hgm-pixel-scale") / "model.json"
    for name in ("model.safetensors", "model.json"):  # a pair beside other files: x.safetensors + x.json
        shutil.copy(folder / name, tmp_path / name.replace("model", "x"))
    assert resolve_model_path(tmp_path / "x.json") == tmp_path / "x.json"
    assert model_files(tmp_path / "x.safetensors") == (tmp_path / "x.safetensors", tmp_path / "x.json")
    assert load_model(tmp_path / "x.json")[1]["method"] == "jgm"
    with pytest.raises(FileNotFoundError, match="no model at"):
        model_files(tmp_path / "nothing")


def test_record_quality_keeps_the_rest_of_the_card(tiny_model, tmp_path):
    folder = _copy(tiny_model, tmp_path)
    before = read_card(folder)
    record_quality(folder, "colorize/x/32px", {"rows": [{"psnr": 20.0}]})
    record_quality(folder, "colorize/y/32px", {"rows": []})
    card = read_card(folder)
    assert card["quality"] == {"colorize/x/32px": {"rows": [{"psnr": 20.0}]}, "colorize/y/32px": {"rows": []}}
    assert {k: v for k, v in card.items() if k != "quality"} == before
