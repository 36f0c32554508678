import torch

from chromaprior.nets import ScoreNet, ScoreNetConfig
from chromaprior.training.loop import geometric_sigmas


def test_shapes_and_gradient_flow():
    net = ScoreNet(ScoreNetConfig(in_channels=9, ngf=8, num_levels=5), geometric_sigmas(1, 0.01, 5))
    z = torch.randn(3, 9, 24, 32, requires_grad=True)
    out = net(z, torch.tensor([0, 2, 4]))
    assert out.shape == z.shape
    out.pow(2).mean().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_output_scales_with_inverse_sigma():
    sig = geometric_sigmas(1, 0.01, 3)
    net = ScoreNet(ScoreNetConfig(in_channels=3, ngf=4, num_levels=3), sig)
    # make every level's normalisation identical so only the 1/sigma factor differs
    for m in net.modules():
        if hasattr(m, "embed"):
            m.embed.weight.data[:] = m.embed.weight.data[0]
    z = torch.randn(1, 3, 16, 16)
    a, b = net(z, torch.tensor([0])), net(z, torch.tensor([2]))
    assert torch.allclose(a * sig[0], b * sig[2], atol=1e-5)


def test_compact_size_is_about_two_million_or_less():
    net = ScoreNet(ScoreNetConfig(ngf=32), geometric_sigmas(1, 0.01, 10))
    n = sum(p.numel() for p in net.parameters())
    assert 1_000_000 < n < 2_500_000


def test_divided_net_keeps_groups_independent():
    from chromaprior.nets import ScoreNetConfig, build_score_net

    net = build_score_net(ScoreNetConfig(in_channels=9, ngf=4, num_levels=3, groups=[3, 6]), geometric_sigmas(1, 0.1, 3))
    z = torch.randn(1, 9, 16, 16)
    level = torch.tensor([1])
    out = net(z, level)
    z2 = z.clone()
    z2[:, 3:] += 1.0  # change only the gradient group
    out2 = net(z2, level)
    assert out.shape == z.shape
    assert torch.equal(out[:, :3], out2[:, :3]) and not torch.equal(out[:, 3:], out2[:, 3:])


def test_group_sizes_must_add_up():
    import pytest

    with pytest.raises(ValueError, match="add up"):
        ScoreNetConfig(in_channels=9, groups=[3, 3])


def test_unet_eval_mode_is_per_image_and_deterministic():
    """Batch norm uses running statistics and dropout is off in eval mode: an image's
    colours do not depend on its batch, and two calls agree (pix2pix's reference code
    colorized in train mode)."""
    from chromaprior.nets import UNet, UNetConfig

    torch.manual_seed(0)
    net = UNet(UNetConfig(ngf=4, depth=3, dropout=0.5))
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    net.train()
    for _ in range(3):  # move the running statistics away from their initial values
        net(x)
    net.eval()
    with torch.no_grad():
        batch, alone = net(x), net(x[1:2])
        assert torch.allclose(batch[1:2], alone, atol=1e-6)
        assert torch.equal(net(x), batch)
        assert batch.abs().max() < 1  # tanh range
    net.train()
    with torch.no_grad():
        assert not torch.equal(net(x), net(x))  # dropout active while training


def test_patch_discriminator_gives_a_map_of_patch_logits():
    from chromaprior.nets import PatchDiscriminator

    d = PatchDiscriminator(ndf=4, layers=3)
    out = d(torch.rand(2, 3, 64, 64))
    assert out.shape == (2, 1, 6, 6)  # 70x70 receptive fields on a 64x64 input, as pix2pix
