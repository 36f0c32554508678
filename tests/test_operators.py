import pytest
import torch

from chromaprior.core import operators as ops


def _cases():
    g = torch.Generator().manual_seed(0)
    keep = (torch.rand(2, 1, 8, 12, generator=g) > 0.5).float()
    yield "gray-mean", ops.gray()
    yield "gray-bt601", ops.gray(ops.BT601_WEIGHTS)
    for p in ops.BAYER_PATTERNS:
        yield f"bayer-{p}", ops.bayer(p, 8, 12)
    yield "mask", ops.mask(keep)
    yield "gray-of-mask", ops.compose(ops.gray(), ops.mask(keep))
    yield "stack-gray-mask", ops.stack(ops.gray(), ops.mask(keep))


CASES = list(_cases())


@pytest.mark.parametrize("name,op", CASES, ids=[c[0] for c in CASES])
def test_adjoint_identity(name, op):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 8, 12, generator=g, dtype=torch.float64).float()
    y = torch.randn(2, op.out_channels, 8, 12, generator=g)
    lhs = (op.forward(x) * y).sum()
    rhs = (x * op.adjoint(y)).sum()
    assert torch.allclose(lhs, rhs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,op", CASES, ids=[c[0] for c in CASES])
def test_pinv_identities(name, op):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 8, 12, generator=g)
    ax = op.forward(x)
    assert torch.allclose(op.forward(op.pinv(ax)), ax, atol=1e-5)  # A A^+ A = A
    z = torch.rand(2, 3, 8, 12, generator=g)
    assert torch.allclose(op.forward(op.project(z, ax)), ax, atol=1e-5)  # projection is consistent
    p = op.pinv(ax)
    assert torch.allclose(op.pinv(op.forward(p)), p, atol=1e-5)  # A^+ A A^+ = A^+


def test_gray_values_and_bayer_layout():
    x = torch.tensor([0.3, 0.6, 0.9]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    assert torch.allclose(ops.gray().forward(x), torch.full((1, 1, 2, 2), 0.6))
    rgb = torch.stack([torch.full((2, 2), v) for v in (1.0, 2.0, 3.0)])[None]
    assert ops.bayer("RGGB", 2, 2).forward(rgb)[0, 0].tolist() == [[1, 2], [2, 3]]
    assert ops.bayer("GBRG", 2, 2).forward(rgb)[0, 0].tolist() == [[2, 3], [1, 2]]


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        ops.gray().forward(torch.rand(1, 4, 8, 8))
    with pytest.raises(ValueError, match="pixels"):
        ops.bayer("RGGB", 8, 8).forward(torch.rand(1, 3, 6, 8))
    with pytest.raises(ValueError, match="pattern"):
        ops.bayer("RGBX", 8, 8)
    with pytest.raises(ValueError, match="compose"):
        ops.compose(ops.gray(), ops.gray())
