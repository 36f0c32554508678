"""Networks: the NCSN score model (and, later, the supervised colorizers)."""

from .ncsn import CondInstanceNorm, ScoreNet, ScoreNetConfig

__all__ = ["ScoreNet", "ScoreNetConfig", "CondInstanceNorm"]
