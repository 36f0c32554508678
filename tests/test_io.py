"""Bad inputs: each gives InputError with a one-line message; good odd inputs decode right."""

import numpy as np
import pytest
from PIL import Image

from chromaprior.io import InputError, read_image, write_image


def test_missing_and_not_an_image(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "nope.png")
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    with pytest.raises(InputError, match="not an image"):
        read_image(bad)
    with pytest.raises(InputError, match="folder"):
        read_image(tmp_path)


def test_truncated_file(tmp_path):
    good = tmp_path / "g.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(InputError, match="corrupt|truncated"):
        read_image(cut)


def test_modes(tmp_path):
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 3] = 200
    Image.fromarray(rgba).save(tmp_path / "a.png")
    pic = read_image(tmp_path / "a.png")
    assert pic.is_color and pic.alpha is not None and np.allclose(pic.alpha, 200 / 255)

    Image.fromarray(np.full((4, 5), 7, np.uint8)).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").pixels.shape == (4, 5, 3)

    Image.new("CMYK", (5, 4), (0, 0, 0, 0)).save(tmp_path / "c.jpg")
    with pytest.warns(UserWarning, match="CMYK"):
        pic = read_image(tmp_path / "c.jpg")
    assert pic.pixels.shape == (4, 5, 3) and pic.pixels.min() > 0.9

    a16 = (np.arange(20, dtype=np.uint16).reshape(4, 5) * 3000)
    Image.fromarray(a16).save(tmp_path / "g16.png")
    pic = read_image(tmp_path / "g16.png")
    assert pic.bits == 16 and np.allclose(pic.pixels, a16 / 65535, atol=1e-6)


def test_exif_rotation_is_applied(tmp_path):
    img = Image.fromarray(np.zeros((4, 10), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").pixels.shape == (10, 4)


def test_huge_image_refused(tmp_path):
    Image.new("L", (300, 200)).save(tmp_path / "big.png")
    with pytest.raises(InputError, match="limit"):
        read_image(tmp_path / "big.png", max_pixels=50_000)


def test_write_is_atomic_and_protects_inputs(tmp_path):
    src = tmp_path / "in.png"
    Image.new("L", (4, 4)).save(src)
    with pytest.raises(InputError, match="overwrite an input"):
        write_image(src, np.zeros((4, 4, 3)), protect=(src,))
    with pytest.raises(InputError, match="output format"):
        write_image(tmp_path / "out.xyz", np.zeros((4, 4, 3)))
    write_image(tmp_path / "out.png", np.full((4, 4, 3), 0.5))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]  # no temp files left
    assert np.asarray(Image.open(tmp_path / "out.png")).max() == 128
