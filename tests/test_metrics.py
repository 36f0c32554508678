import pytest
import torch
import torch.nn.functional as F

from chromaprior.metrics import FeatureNet, colorfulness, frechet_distance, psnr, ssim


def test_psnr_and_ssim_basics():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=g)
    assert torch.allclose(ssim(x, x), torch.ones(2))
    noisy = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert (ssim(noisy, x) < 0.99).all()
    assert abs(float(psnr(torch.zeros(1, 1, 4, 4), torch.full((1, 1, 4, 4), 0.1))[0]) - 20.0) < 1e-4
    with pytest.raises(ValueError, match="one shape"):
        psnr(x, x[:, :1])


def test_colorfulness_zero_for_gray_and_orders_saturation():
    g = torch.rand(1, 1, 16, 16).expand(-1, 3, -1, -1)
    assert float(colorfulness(g)) < 1e-6
    base = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    mean = base.mean(1, keepdim=True)
    assert colorfulness(mean + 0.5 * (base - mean)) < colorfulness(base)


def test_frechet_distance_of_gaussians():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    b = 2 * torch.randn(4000, 3, generator=g, dtype=torch.float64) + 1
    assert abs(frechet_distance(a, a)) < 1e-9
    # N(0, I) vs N(1, 4I) in 3-d: 3 * 1 + 3 * (1 + 4 - 2 * 2) = 6
    assert abs(frechet_distance(a, b) - 6.0) < 0.3


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return F.adaptive_avg_pool2d(torch.relu(self.conv(x)), 1).flatten(1)


def export_tiny(path):
    torch.manual_seed(0)
    dims = {0: torch.export.Dim("batch", min=1), 2: torch.export.Dim("h", min=8), 3: torch.export.Dim("w", min=8)}
    program = torch.export.export(Tiny(), (torch.rand(2, 3, 16, 16),), dynamic_shapes={"x": dims})
    torch.export.save(program, str(path))


def test_fid_with_a_tiny_exported_feature_network(tmp_path):
    export_tiny(tmp_path / "tiny.pt2")
    net = FeatureNet(str(tmp_path / "tiny.pt2"))
    g = torch.Generator().manual_seed(2)
    real = torch.rand(20, 3, 16, 16, generator=g)
    feats = net(real)
    assert feats.shape == (20, 8)
    same = frechet_distance(feats, net(real))
    gray = frechet_distance(feats, net(real.mean(1, keepdim=True).expand(-1, 3, -1, -1)))
    assert abs(same) < 1e-9 and gray > same
    with pytest.raises(ValueError, match="failed on a batch"):
        net(torch.rand(1, 4, 16, 16))
    (tmp_path / "bad.pt2").write_text("nope")
    with pytest.raises(ValueError, match="FID feature network"):
        FeatureNet(str(tmp_path / "bad.pt2"))
