"""Networks: the NCSN score model (and, later, the supervised colorizers)."""

from .ncsn import CondInstanceNorm, DividedScoreNet, ScoreNet, ScoreNetConfig, build_score_net

__all__ = ["ScoreNet", "DividedScoreNet", "ScoreNetConfig", "build_score_net", "CondInstanceNorm"]
