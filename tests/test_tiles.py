"""Full-resolution finishing in row strips: the same result as at once."""

import torch
import torch.nn.functional as F

from chromaprior.core.color import white_balance
from chromaprior.methods.colorize import gamut_clamp
from chromaprior.core.tiles import finish


def test_strips_equal_the_whole_image_computation():
    torch.manual_seed(0)
    gray = torch.rand(1, 1, 301, 517)
    chroma = (torch.rand(1, 3, 13, 21) - 0.5) * 0.4
    chroma = chroma - chroma.mean(dim=1, keepdim=True)
    for kelvin in (6500, 3200):
        whole = white_balance(gamut_clamp(gray, F.interpolate(chroma, size=(301, 517), mode="bilinear",
                                                               align_corners=False)), kelvin)
        strips = finish(gray, chroma, kelvin, strip_pixels=5000)
        assert strips.shape == whole.shape and (strips - whole).abs().max() < 1e-5
        assert (strips.mean(dim=1, keepdim=True) - gray).abs().max() < 1e-5 or kelvin != 6500
