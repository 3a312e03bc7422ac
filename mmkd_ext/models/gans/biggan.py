"""BigGAN for small images (32x32 CIFAR; smaller widths / resolutions for digits).

BigGAN (Brock et al., ICLR 2019) in the DiffAugment-CIFAR set-up (Zhao et al., NeurIPS
2020; docs/gan.md):

* Generator: ``z (N, z_dim) -> SNLinear -> (N, C, b, b)`` (b = ``bottom_width``) ->
  ``num_blocks`` residual up-blocks ``BN(y)-ReLU-up2-conv3-BN(y)-ReLU-conv3`` with an
  up-sampled 1x1-conv shortcut -> BN -> ReLU -> conv3 -> tanh, output
  ``(N, 3, b * 2**num_blocks, b * 2**num_blocks)`` in [-1, 1]. Class-conditional BN:
  ``gamma = 1 + E_g[y]``, ``beta = E_b[y]`` (plain, not spectrally normalised
  embeddings; no shared embedding / hierarchical z / attention).
* Discriminator (projection D, Miyato & Koyama 2018): residual down-blocks
  ``3 -> C -> C -> C -> C`` (average pooling in the first ``num_down`` blocks), ReLU,
  global **sum** pooling -> ``h (N, C)``; ``D(x, y) = w^T h + b + <E[y], h>``.
* Spectral norm (1 power iteration, eps 1e-8) on every conv / linear of G and D, all
  weights initialised N(0, 0.02).
* Optional distillation head on D's pooled feature (VKD / KD-DLGAN):
  ``SNLinear(C -> 1024) -> SNLinear(1024 -> 512)``, no nonlinearity in between.

Default sizes (``ch=256``): G 4.3M (10 classes) / 4.6M (100 classes), D 4.2M parameters.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd_ext.registry import MODELS


def sn(module: nn.Module) -> nn.Module:
    """Spectral norm with the BigGAN settings (1 power iteration, eps 1e-8)."""
    return nn.utils.spectral_norm(module, n_power_iterations=1, eps=1e-8)


def init_normal_(module: nn.Module, std: float = 0.02) -> None:
    """N(0, std) init of every conv / linear / embedding weight, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            weight = m.weight_orig if hasattr(m, 'weight_orig') else m.weight
            nn.init.normal_(weight, 0.0, std)
            if getattr(m, 'bias', None) is not None:
                nn.init.zeros_(m.bias)


def _check_int(name, value, minimum=1):
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}')


class ConditionalBatchNorm2d(nn.Module):
    """BN without affine, then ``x * (1 + E_g[y]) + E_b[y]``; x (N, C, H, W), y (N,)."""

    def __init__(self, num_features: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False, eps=1e-5, momentum=0.1)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)

    def forward(self, x, y):
        gain = 1.0 + self.gain(y)[:, :, None, None]
        return self.bn(x) * gain + self.bias(y)[:, :, None, None]


class GBlock(nn.Module):
    """Residual up-block: BN(y)-ReLU-up2-conv3-BN(y)-ReLU-conv3 + up2-conv1 shortcut."""

    def __init__(self, in_ch, out_ch, num_classes):
        super().__init__()
        self.bn1 = ConditionalBatchNorm2d(in_ch, num_classes)
        self.conv1 = sn(nn.Conv2d(in_ch, out_ch, 3, padding=1))
        self.bn2 = ConditionalBatchNorm2d(out_ch, num_classes)
        self.conv2 = sn(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.shortcut = sn(nn.Conv2d(in_ch, out_ch, 1))

    def forward(self, x, y):
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2, mode='nearest')
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode='nearest'))


class DBlock(nn.Module):
    """Residual down-block (ReLU-conv3-ReLU-conv3-avgpool + conv1-avgpool shortcut).

    The first block of D has no leading ReLU (``preactivation=False``).
    """

    def __init__(self, in_ch, out_ch, downsample=True, preactivation=True):
        super().__init__()
        self.conv1 = sn(nn.Conv2d(in_ch, out_ch, 3, padding=1))
        self.conv2 = sn(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.learnable_sc = in_ch != out_ch or downsample
        self.shortcut = sn(nn.Conv2d(in_ch, out_ch, 1)) if self.learnable_sc else None
        self.downsample = downsample
        self.preactivation = preactivation

    def forward(self, x):
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        sc = x
        if self.learnable_sc:
            if self.preactivation:
                sc = self.shortcut(sc)
                sc = F.avg_pool2d(sc, 2) if self.downsample else sc
            else:  # optimised first block: pool, then 1x1 conv
                sc = F.avg_pool2d(sc, 2) if self.downsample else sc
                sc = self.shortcut(sc)
        return h + sc


@MODELS.register_module()
class BigGANGenerator(nn.Module):
    """Class-conditional BigGAN generator (gan.md, "Generator").

    Args:
        num_classes (int): number of classes (labels ``y`` in ``[0, num_classes)``).
        z_dim (int): latent size. Defaults to 128.
        ch (int): channel width of every block (256 = G_ch 64 for CIFAR).
        bottom_width (int): spatial size after the first linear layer. Defaults to 4.
        num_blocks (int): up-blocks; output side ``bottom_width * 2**num_blocks``.
        out_channels (int): image channels. Defaults to 3.

    Shapes: ``forward(z (N, z_dim), y (N,) long) -> (N, out_channels, S, S)`` in [-1, 1].
    """

    def __init__(self,
                 num_classes: int,
                 z_dim: int = 128,
                 ch: int = 256,
                 bottom_width: int = 4,
                 num_blocks: int = 3,
                 out_channels: int = 3,
                 init_std: float = 0.02):
        super().__init__()
        for name, val in (('num_classes', num_classes), ('z_dim', z_dim), ('ch', ch),
                          ('bottom_width', bottom_width), ('num_blocks', num_blocks)):
            _check_int(f'generator.{name}', val)
        self.num_classes, self.z_dim, self.ch = num_classes, z_dim, ch
        self.bottom_width = bottom_width
        self.img_size = bottom_width * 2**num_blocks
        self.linear = sn(nn.Linear(z_dim, ch * bottom_width**2))
        self.blocks = nn.ModuleList(
            GBlock(ch, ch, num_classes) for _ in range(num_blocks))
        self.out_bn = nn.BatchNorm2d(ch)
        self.out_conv = sn(nn.Conv2d(ch, out_channels, 3, padding=1))
        init_normal_(self, init_std)

    def forward(self, z, y):
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f'generator: z must be (N, {self.z_dim}), got '
                             f'{tuple(z.shape)}')
        if y.shape != (z.shape[0], ):
            raise ValueError(f'generator: y must be ({z.shape[0]},) class ids, '
                             f'got {tuple(y.shape)}')
        h = self.linear(z).view(z.shape[0], self.ch, self.bottom_width, self.bottom_width)
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))


@MODELS.register_module()
class BigGANDiscriminator(nn.Module):
    """Projection discriminator with residual blocks (gan.md, "Discriminator").

    Args:
        num_classes (int): number of classes for the projection term.
        ch (int): channel width. Defaults to 256.
        num_blocks (int): residual blocks. Defaults to 4.
        num_down (int): how many leading blocks downsample. Defaults to 2.
        in_channels (int): image channels. Defaults to 3.
        distill_dims (tuple[int], optional): e.g. ``(1024, 512)`` adds the distillation
            head ``SNLinear(ch -> 1024) -> SNLinear(1024 -> 512)`` (no nonlinearity).
            ``()`` (empty): no head, ``distill(h) = h``: the distillation connector
            sees D's pooled feature itself (the ``_direct`` VKD configs, where the
            orthogonal projector maps ``ch`` straight to the teacher width; a free
            linear head in front of it would absorb any rotation). ``None``
            (default): no distillation.

    Shapes: ``forward(x (N, 3, H, W), y (N,), return_feat=False)`` -> logits ``(N,)``;
    with ``return_feat=True`` -> ``(logits, h (N, ch))``. ``distill(h)`` ->
    ``(N, distill_dims[-1])``.
    """

    def __init__(self,
                 num_classes: int,
                 ch: int = 256,
                 num_blocks: int = 4,
                 num_down: int = 2,
                 in_channels: int = 3,
                 distill_dims=None,
                 init_std: float = 0.02):
        super().__init__()
        for name, val in (('num_classes', num_classes), ('ch', ch), ('num_blocks',
                                                                     num_blocks)):
            _check_int(f'discriminator.{name}', val)
        if not 0 <= num_down <= num_blocks:
            raise ValueError(f'discriminator.num_down must be in [0, num_blocks], '
                             f'got {num_down!r}')
        self.ch = ch
        self.blocks = nn.ModuleList(
            DBlock(
                in_channels if i == 0 else ch,
                ch,
                downsample=i < num_down,
                preactivation=i > 0) for i in range(num_blocks))
        self.linear = sn(nn.Linear(ch, 1))
        self.embed = sn(nn.Embedding(num_classes, ch))
        self.distill_head = None
        # shared layers first: the same seed gives a discriminator with and without a
        # distillation head the same shared weights (paired studies, docs/studies.md)
        init_normal_(self, init_std)
        if distill_dims is not None and len(distill_dims) == 0:
            self.distill_head = nn.Identity()
        elif distill_dims:
            dims = [ch] + list(distill_dims)
            self.distill_head = nn.Sequential(
                *[sn(nn.Linear(dims[i], dims[i + 1])) for i in range(len(dims) - 1)])
            init_normal_(self.distill_head, init_std)

    def forward(self, x, y, return_feat: bool = False):
        if x.dim() != 4:
            raise ValueError(f'discriminator: x must be (N, C, H, W), got '
                             f'{tuple(x.shape)}')
        h = x
        for block in self.blocks:
            h = block(h)
        h = F.relu(h).sum(dim=(2, 3))
        out = self.linear(h).squeeze(1) + (self.embed(y) * h).sum(1)
        return (out, h) if return_feat else out

    def distill(self, h):
        """Distillation head output for pooled features ``h (N, ch)``."""
        if self.distill_head is None:
            raise ValueError('discriminator.distill_dims is not set: this '
                             'discriminator has no distillation head')
        return self.distill_head(h)
