import pytest
import torch

from chromaprior.core import operators as ops
from chromaprior.core.lifts import GradientLift, d1, d1_adjoint, d2, d2_adjoint


def test_difference_adjoints():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(2, 1, 3, 9, 7, generator=g, dtype=torch.float64)
    assert torch.allclose((d1(x) * y).sum(), (x * d1_adjoint(y)).sum())
    assert torch.allclose((d2(x) * y).sum(), (x * d2_adjoint(y)).sum())


def test_fusion_of_exact_gradients_round_trip():
    x = torch.rand(2, 3, 24, 40, generator=torch.Generator().manual_seed(0))
    for beta in (0.1, 1.0, 10.0):
        lift = GradientLift(beta)
        z = lift.lift(x)
        assert z.shape == (2, 9, 24, 40)
        assert (lift.unlift(z) - x).abs().max() < 1e-4


def test_fusion_is_least_squares_minimiser():
    """The fused image beats perturbations of itself on the Eq. 14 objective."""
    g = torch.Generator().manual_seed(1)
    lift = GradientLift(2.0)
    z = torch.rand(1, 9, 16, 16, generator=g)
    x = lift.unlift(z)

    def objective(v):
        x0, g1, g2 = lift.split(z)
        return ((v - x0) ** 2).sum() + 2.0 * (((d1(v) - g1) ** 2).sum() + ((d2(v) - g2) ** 2).sum())

    best = objective(x)
    for _ in range(5):
        assert objective(x + 1e-2 * torch.randn(x.shape, generator=g)) > best


def test_lifted_operator_is_blockwise_and_consistent():
    lift = GradientLift()
    x = torch.rand(1, 3, 8, 8)
    op = ops.gray()
    lop = lift.lift_operator(op)
    assert lop.out_channels == 3 and lop.in_channels == 9
    assert torch.allclose(lop.forward(lift.lift(x)), lift.lift_measurement(op.forward(x)), atol=1e-6)


@pytest.mark.parametrize("gradients", [True, False])
def test_gradient_lift_of_gray_plus_hint_rows(gradients):
    """Constant rows (gray) constrain all blocks (or only the image), varying rows (hints)
    the image block; the lifted problem is consistent and projection recovers A x = y."""
    lift = GradientLift()
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    keep = torch.zeros(1, 1, 8, 8)
    keep[..., 2:4, 5:7] = 1
    op = ops.stack(ops.gray(), ops.mask(keep))
    lop, y_lift = lift.lift_problem(op, op.forward(x), gradients=gradients)
    assert lop.in_channels == 9 and lop.out_channels == (3 if gradients else 1) + 3
    assert torch.allclose(lop.forward(lift.lift(x)), y_lift, atol=1e-6)
    z = lop.project(torch.randn(1, 9, 8, 8, generator=torch.Generator().manual_seed(1)), y_lift)
    assert torch.allclose(op.forward(z[:, :3]), op.forward(x), atol=1e-5)
    assert torch.allclose(z[:, :3][keep.expand(1, 3, 8, 8) > 0], x[keep.expand(1, 3, 8, 8) > 0], atol=1e-5)


def _hgm_cases():
    from chromaprior.core.lifts import ChannelCopyLift, PixelScaleLift

    keep = (torch.rand(1, 1, 8, 12, generator=torch.Generator().manual_seed(3)) > 0.5).float()
    for lift in (ChannelCopyLift(2), PixelScaleLift()):
        for op in (ops.bayer("RGGB", 8, 12), ops.bayer("GBRG", 8, 12), ops.mask(keep), ops.gray()):
            yield lift, op


def test_hgm_lifts_round_trip_and_commute_with_operators():
    x = torch.rand(1, 3, 8, 12, generator=torch.Generator().manual_seed(4))
    for lift, op in _hgm_cases():
        z = lift.lift(x)
        assert z.shape[1] == 3 * lift.factor
        assert torch.allclose(lift.unlift(z), x)
        lop = lift.lift_operator(op)
        # the lifted operator on the lifted image gives the lifted measurement
        assert torch.allclose(lop.forward(z), lift.lift_measurement(op.forward(x)), atol=1e-6)
        # and exact consistency in the lifted space is consistency in the image space
        noisy = z + torch.randn(z.shape, generator=torch.Generator().manual_seed(5))
        back = lift.unlift(lop.project(noisy, lift.lift_measurement(op.forward(x))))
        assert torch.allclose(op.forward(back), op.forward(x), atol=1e-5)


def test_pixel_scale_layout():
    from chromaprior.core.lifts import PixelScaleLift

    x = torch.arange(16.0).view(1, 1, 4, 4).expand(1, 3, 4, 4)
    z = PixelScaleLift().lift(x)
    assert z.shape == (1, 12, 2, 2)
    assert z[0, :4, 0, 0].tolist() == [0.0, 1.0, 4.0, 5.0]
