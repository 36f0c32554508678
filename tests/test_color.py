import pytest
import torch

from chromaprior.core.color import kelvin_to_xy, lab_to_rgb, rgb_to_lab, white_balance


def test_lab_round_trip():
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(lab_to_rgb(rgb_to_lab(x)), x, atol=1e-9)


def test_lab_known_values():
    """Reference values (Bruce Lindbloom's calculator, sRGB D65)."""
    rgb = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.5]], dtype=torch.float64)
    lab = rgb_to_lab(rgb.T[None, :, :, None])[0, :, :, 0].T
    expected = torch.tensor([[100.0, 0.0, 0.0], [53.2408, 80.0925, 67.2032], [32.2970, 79.1875, -107.8602],
                             [53.3890, 0.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(lab, expected, atol=2e-3)


def test_white_balance_identity_warm_and_cool():
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    assert torch.equal(white_balance(x, 6500), x)
    gray = torch.full((1, 3, 4, 4), 0.5)
    warm, cool = white_balance(gray, 3000), white_balance(gray, 12000)
    assert warm[0, 0].mean() > 0.55 and warm[0, 2].mean() < 0.45  # orange
    assert cool[0, 2].mean() > cool[0, 0].mean() + 0.05  # blue
    a, b = white_balance(gray, 5000), white_balance(gray, 4000)
    assert (b[0, 0] - b[0, 2]).mean() > (a[0, 0] - a[0, 2]).mean() > 0  # warmer as the temperature falls
    near = white_balance(x, 6400)
    assert (near - x).abs().max() < 0.03  # continuous around the identity


def test_kelvin_range_and_locus():
    x, y = kelvin_to_xy(6504)
    assert abs(x - 0.3127) < 2e-3 and abs(y - 0.3290) < 5e-3  # D65
    x, y = kelvin_to_xy(2856)
    assert abs(x - 0.4476) < 2e-3 and abs(y - 0.4074) < 2e-3  # illuminant A
    with pytest.raises(ValueError, match="1667"):
        white_balance(torch.rand(1, 3, 2, 2), 1000)


def test_palette_transfer_moves_chroma_statistics_and_keeps_lightness():
    from chromaprior.core.color import rgb_to_lab, transfer_palette

    g = torch.Generator().manual_seed(2)
    x = 0.3 + 0.4 * torch.rand(1, 3, 16, 16, generator=g, dtype=torch.float64)
    ref = torch.stack([0.2 + 0.1 * torch.rand(16, 16, generator=g, dtype=torch.float64),
                       0.3 + 0.1 * torch.rand(16, 16, generator=g, dtype=torch.float64),
                       0.7 + 0.2 * torch.rand(16, 16, generator=g, dtype=torch.float64)])[None]
    out = transfer_palette(x, ref)
    lab_out, lab_ref, lab_x = rgb_to_lab(out), rgb_to_lab(ref), rgb_to_lab(x)
    assert torch.allclose(lab_out[:, 0], lab_x[:, 0], atol=1e-6)
    assert torch.allclose(lab_out[:, 1:].mean(dim=(2, 3)), lab_ref[:, 1:].mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(lab_out[:, 1:].std(dim=(2, 3)), lab_ref[:, 1:].std(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(transfer_palette(x, ref, strength=0.0), x, atol=1e-9)


def test_colorize_with_reference_palette_is_bluer(tiny_model):
    from chromaprior.methods.colorize import Colorizer
    from chromaprior.core.color import rgb_to_lab

    col = Colorizer(tiny_model)
    y = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25
    blue = torch.tensor([0.1, 0.3, 0.9]).view(1, 3, 1, 1).expand(1, 3, 8, 8) + 0.05 * torch.rand(1, 3, 8, 8)
    plain = col(y, preset="preview")
    biased = col(y, preset="preview", reference=blue)
    assert torch.allclose(col.luminance(biased), y, atol=1e-5)
    assert rgb_to_lab(biased)[:, 2].mean() < rgb_to_lab(plain)[:, 2].mean() - 5  # b* towards blue
