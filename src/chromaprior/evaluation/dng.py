"""Minimal CFA DNG files (one uncompressed 16-bit strip with the tags LibRaw needs), written
with tifffile: synthetic camera raws of known content, for the raw evaluation
(``bench/raw_eval.py``) and the tests; no camera samples needed."""

from __future__ import annotations

import numpy as np

__all__ = ["CFA_CODES", "XTRANS", "write_dng", "bayer_colours"]

#: CFAPattern codes of the four Bayer patterns (0 = R, 1 = G, 2 = B)
CFA_CODES = {"RGGB": (0, 1, 1, 2), "GRBG": (1, 0, 2, 1), "BGGR": (2, 1, 1, 0), "GBRG": (1, 2, 0, 1)}
#: an X-Trans 6x6 tile
XTRANS = (1, 1, 0, 1, 1, 2, 1, 1, 2, 1, 1, 0, 2, 0, 1, 0, 2, 1, 1, 1, 2, 1, 1, 0, 1, 1, 0, 1, 1, 2, 0, 2, 1, 2, 0, 1)



def _rationals(values, den: int = 10000) -> list[int]:
    out: list[int] = []
    for v in values:
        out += [int(round(v * den)), den]
    return out


def write_dng(path, raw: np.ndarray, *, cfa=CFA_CODES["RGGB"], repeat=(2, 2), black: int = 256, white: int = 4095,
              neutral=(0.5, 1.0, 0.8), matrix=(1, 0, 0, 0, 1, 0, 0, 0, 1), orientation: int | None = None) -> None:
    """A minimal CFA DNG: one uncompressed 16-bit strip (PhotometricInterpretation 32803) with
    the tags LibRaw needs: CFARepeatPatternDim, CFAPattern, DNGVersion, UniqueCameraModel,
    BlackLevel, WhiteLevel, ColorMatrix1 (XYZ -> camera), CalibrationIlluminant1 (D65) and
    AsShotNeutral (the camera white balance is its inverse)."""
    import tifffile

    tags = [
        (33421, "H", 2, tuple(repeat), False),  # CFARepeatPatternDim
        (33422, "B", len(cfa), tuple(cfa), False),  # CFAPattern
        (50706, "B", 4, (1, 4, 0, 0), False),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), False),  # DNGBackwardVersion
        (50708, "s", 0, "chromaprior test camera", False),  # UniqueCameraModel
        (50714, "H", 1, (black,), False),  # BlackLevel
        (50717, "H", 1, (white,), False),  # WhiteLevel
        (50721, "2i", 9, _rationals(matrix), False),  # ColorMatrix1 (SRATIONAL)
        (50728, "2I", 3, _rationals(neutral), False),  # AsShotNeutral (RATIONAL)
        (50778, "H", 1, (21,), False),  # CalibrationIlluminant1: D65
    ]
    if orientation is not None:
        tags.append((274, "H", 1, (orientation,), False))
    tifffile.imwrite(str(path), np.asarray(raw, dtype=np.uint16), photometric=32803, compression=None,
                     extratags=tags, software=None, metadata=None, subfiletype=0)


def bayer_colours(pattern: str, height: int, width: int) -> np.ndarray:
    """``(H, W)`` colour index (0 R, 1 G, 2 B) of every photosite."""
    c = np.zeros((height, width), int)
    for i, ch in enumerate(pattern):
        c[i // 2 :: 2, i % 2 :: 2] = "RGB".index(ch)
    return c
