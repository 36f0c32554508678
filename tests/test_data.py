import numpy as np
import torch
from PIL import Image

from chromaprior.training.data import ImageCache, list_images
from chromaprior.core.io import read_image

from helpers import icc_profile, synthetic_rgb


def _folder(tmp_path, n=5):
    for i in range(n):
        Image.fromarray(synthetic_rgb(60, 80, seed=i)).save(tmp_path / f"img{i}.png")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    return list_images([tmp_path])


def test_cache_does_not_depend_on_worker_count(tmp_path):
    paths = _folder(tmp_path)
    one = ImageCache.build(paths, 16, split="all", workers=1)
    four = ImageCache.build(paths, 16, split="all", workers=4)
    assert len(one) == len(four) == 5 and one.skipped_unreadable == four.skipped_unreadable == 1
    assert all(torch.equal(a, b) for a, b in zip(one.images, four.images))
    assert min(one.images[0].shape[1:]) == 24  # short side 1.5 x 16


def test_fixed_scale_crops_are_unresized_pixels(tmp_path):
    paths = _folder(tmp_path)
    cache = ImageCache.build(paths, 16, split="all", downscale=2)
    assert cache.fixed_scale and cache.images[0].shape[1:] == (30, 40)  # shrunk by 2
    batch = cache.sample(8, torch.Generator().manual_seed(0))
    assert batch.shape == (8, 3, 16, 16) and 0 <= batch.min() and batch.max() <= 1
    # every crop is an exact window of a cached image (possibly mirrored): values on the 8-bit grid
    assert torch.allclose(batch * 255, (batch * 255).round(), atol=1e-4)
    windows = [ci.float() / 255 for ci in cache.images]

    def is_window(crop):
        for w in windows:
            for t in range(w.shape[1] - 15):
                for l in range(w.shape[2] - 15):
                    win = w[:, t:t + 16, l:l + 16]
                    if torch.equal(crop, win) or torch.equal(crop, win.flip(-1)):
                        return True
        return False

    assert all(is_window(batch[b]) for b in range(8))


def test_training_images_are_read_in_srgb_like_inputs(tmp_path):
    a = synthetic_rgb(32, 32)
    Image.fromarray(a).save(tmp_path / "linear.png", icc_profile=icc_profile("RGB", 1.0))
    cache = ImageCache.build([tmp_path / "linear.png"], 32, split="all", cache_scale=1.0)
    cached = cache.images[0].permute(1, 2, 0).numpy()
    assert np.array_equal(cached, np.rint(read_image(tmp_path / "linear.png").pixels * 255))
    assert np.abs(cached.astype(int) - a).max() > 20  # really converted


def test_training_photos_are_read_with_the_one_reader(tmp_path):
    """The loader reads through chromaprior.core.io.read_image: .npy arrays and 16-bit PNGs are
    training photos too, cached as read_image decodes them."""
    from chromaprior.core.io import write_image

    a = synthetic_rgb(32, 32, seed=1) / 255
    np.save(tmp_path / "photo.npy", a.astype(np.float32))
    write_image(tmp_path / "deep.png", a, bits=16)
    paths = list_images([tmp_path])
    assert [p.name for p in paths] == ["deep.png", "photo.npy"]
    cache = ImageCache.build(paths, 32, split="all", cache_scale=1.0)
    assert len(cache) == 2 and cache.skipped_unreadable == 0
    for p, cached in zip(paths, cache.images):
        assert np.array_equal(cached.permute(1, 2, 0).numpy(), np.rint(read_image(p).pixels * 255))
