"""The ImageNet-pretrained encoder: weights checked and loaded, and it really recognises photos."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from chromaprior.nets.efficientnet import STAGE_CHANNELS, EfficientNetLite0, load_pretrained, pretrained_path

IMAGENET = Path(__file__).resolve().parents[2] / "shared" / "data" / "train" / "imagenet-sample"
#: ImageNet class index of a few sample photos (synset order)
CLASSES = {"n01440764_tench": 0, "n01443537_goldfish": 1, "n07742313_Granny_Smith": 948,
           "n07745940_strawberry": 949, "n07747607_orange": 950, "n09472597_volcano": 980, "n11939491_daisy": 985}


@pytest.fixture(scope="module")
def classifier():
    return load_pretrained()


def test_weights_file_is_hash_checked(tmp_path):
    assert pretrained_path().exists()
    bad = tmp_path / "efficientnet-lite0.pth"
    torch.save(EfficientNetLite0().state_dict(), bad)  # loadable, but not the ImageNet weights
    with pytest.raises(ValueError, match="not the expected EfficientNet-Lite0 weights"):
        load_pretrained(bad)
    with pytest.raises(ValueError, match="cannot read"):
        load_pretrained(tmp_path / "missing.pth")


def test_cli_error_for_a_wrong_weights_file(tmp_path, monkeypatch, gray_png, tiny_semantic_model):
    """A corrupted encoder file is one error line, no traceback."""
    from click.testing import CliRunner

    from chromaprior.apps import cli
    from chromaprior.nets import efficientnet

    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(efficientnet, "pretrained_path", lambda: bad)
    r = CliRunner().invoke(cli.main, ["colorize", gray_png, "-o", str(tmp_path / "o.png"), "--method", "semantic",
                                      "--model", tiny_semantic_model])
    assert r.exit_code == 1
    assert r.output.strip().count("\n") == 0 and "not the expected EfficientNet-Lite0 weights" in r.output
    assert not (tmp_path / "o.png").exists()


def test_features_at_odd_sizes(classifier):
    feats = classifier.features(torch.rand(2, 3, 37, 53))
    assert [f.shape[1] for f in feats] == list(STAGE_CHANNELS)
    for f, s in zip(feats, (2, 4, 8, 16, 32)):
        assert f.shape[-2:] == (-(-37 // s), -(-53 // s))


def _photo(stem: str, gray: bool) -> torch.Tensor:
    path = next(IMAGENET.glob(stem + ".*"))
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = 256 / min(w, h)
    im = im.resize((round(w * s), round(h * s)), Image.BICUBIC)
    w, h = im.size
    im = im.crop(((w - 224) // 2, (h - 224) // 2, (w - 224) // 2 + 224, (h - 224) // 2 + 224))
    x = torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float() / 255
    return x.mean(1, keepdim=True).expand(-1, 3, -1, -1) if gray else x


@pytest.mark.skipif(not IMAGENET.is_dir(), reason="needs ../shared/data/train/imagenet-sample")
def test_classifies_imagenet_photos_in_colour_and_in_gray(classifier):
    """Top-1 on colour photos, top-5 on their gray copies (what the colorizer sees)."""
    with torch.no_grad():
        top1 = [int(classifier(_photo(s, False)).argmax()) == c for s, c in CLASSES.items()]
        top5 = [c in classifier(_photo(s, True)).topk(5).indices[0].tolist() for s, c in CLASSES.items()]
    assert sum(top1) >= 6, top1
    assert sum(top5) >= 6, top5
