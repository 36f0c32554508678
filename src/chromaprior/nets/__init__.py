"""Networks: the NCSN score model and the supervised colorizers (U-Net, PatchGAN)."""

from .ncsn import CondInstanceNorm, DividedScoreNet, ScoreNet, ScoreNetConfig, build_score_net
from .unet import AB_SCALE, L_SCALE, PatchDiscriminator, UNet, UNetConfig

__all__ = [
    "ScoreNet",
    "DividedScoreNet",
    "ScoreNetConfig",
    "build_score_net",
    "CondInstanceNorm",
    "UNet",
    "UNetConfig",
    "PatchDiscriminator",
    "L_SCALE",
    "AB_SCALE",
]
