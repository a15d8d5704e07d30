"""The AE of DESIGN.md section 3 in PyTorch, with the module names medad's state_dicts use (those of the D2UE
reference code: en_block*, bottle_neck.linear_enc/linear_dec, de_block*), and MemAE (the same AE with a memory
module on z, bottle_neck.memory_module, as the reference's MemBottleNeck). Shared by bench/nn_vs_pytorch.py and
Tests/MedNNTests/Fixtures/make_fixtures.py; a Python user loads medad's weights into these classes."""
import math

import torch
import torch.nn.functional as F
from torch import nn


class DualBN(nn.Module):
    """Dual batch norm (adversarial training): bns.0 for clean batches, bns.1 for adversarial ones, as the
    Medical-Robust-Training reference's domain-specific batch norm; `domain` picks the set."""

    def __init__(self, norm, channels):
        super().__init__()
        self.bns = nn.ModuleList([norm(channels), norm(channels)])
        self.domain = 0

    def forward(self, x):
        return self.bns[self.domain](x)


def batch_norm(kind, channels, dual):
    return DualBN(kind, channels) if dual else kind(channels)


class BasicBlock(nn.Module):
    """Conv (down) or ConvTranspose (up) -> BatchNorm -> ReLU, the last up block its convolution alone; MC-dropout
    appends Dropout2d(dropout) to every block but the last (index 3: no parameters, state_dict names unchanged)."""

    def __init__(self, in_planes, out_planes, downsample=False, last_layer=False, dropout=0.0, dual_norm=False):
        super().__init__()
        bn = lambda c: batch_norm(nn.BatchNorm2d, c, dual_norm)
        if downsample:
            layers = [nn.Conv2d(in_planes, out_planes, 4, stride=2, padding=1, bias=False), bn(out_planes), nn.ReLU(True)]
        else:
            layers = [nn.ConvTranspose2d(in_planes, out_planes, 4, stride=2, padding=1, bias=False)]
            if not last_layer:
                layers += [bn(out_planes), nn.ReLU(True)]
        if dropout > 0 and not last_layer:
            layers.append(nn.Dropout2d(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class Memory(nn.Module):
    """MemAE's memory (Gong et al. 2019): attention = softmax over the M items of z·itemᵀ, hard-shrunk
    (relu(a - lambda)·a / (|a - lambda| + 1e-12)) and L1-renormalised; the output is attention · items."""

    def __init__(self, items, latent_size, shrink_threshold):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(items, latent_size))
        bound = 1 / math.sqrt(latent_size)
        self.weight.data.uniform_(-bound, bound)
        self.shrink_threshold = shrink_threshold

    def forward(self, z):
        att = F.softmax(z @ self.weight.T, dim=1)
        if self.shrink_threshold > 0:
            att = F.relu(att - self.shrink_threshold) * att / (torch.abs(att - self.shrink_threshold) + 1e-12)
            att = F.normalize(att, p=1, dim=1)
        return att @ self.weight, att


class MemoryModule(nn.Module):
    def __init__(self, items, latent_size, shrink_threshold):
        super().__init__()
        self.memory = Memory(items, latent_size, shrink_threshold)

    def forward(self, z):
        return self.memory(z)


class BottleNeck(nn.Module):
    """linear_enc to z, MemAE's memory when memory_items > 0, linear_dec back: the reference's names."""

    def __init__(self, flat, mid_num, latent_size, memory_items, shrink_threshold, dual_norm=False):
        super().__init__()
        bn = lambda c: batch_norm(nn.BatchNorm1d, c, dual_norm)
        self.linear_enc = nn.Sequential(nn.Linear(flat, mid_num), bn(mid_num), nn.ReLU(True), nn.Linear(mid_num, latent_size))
        self.linear_dec = nn.Sequential(nn.Linear(latent_size, mid_num), bn(mid_num), nn.ReLU(True), nn.Linear(mid_num, flat))
        if memory_items > 0:
            self.memory_module = MemoryModule(memory_items, latent_size, shrink_threshold)

    def forward(self, flat):
        self.z = self.linear_enc(flat)
        code, self.att = (self.memory_module(self.z) if hasattr(self, "memory_module") else (self.z, None))
        return self.linear_dec(code)


def memory_entropy(att):
    """MemAE's entropy loss on the attention: mean over samples of -sum a log(a + 1e-12)."""
    return (-att * torch.log(att + 1e-12)).sum(dim=1).mean()


def head(in_planes, out_channels, size):
    """A layer ensemble's head: 3x3 convolution (with bias) to the output channels, bilinear upsampling to size."""
    return nn.Sequential(nn.Conv2d(in_planes, out_channels, 3, padding=1),
                         nn.Upsample(size=(size, size), mode="bilinear", align_corners=False))


class AE(nn.Module):
    def __init__(self, input_size=64, base_width=16, latent_size=16, mid_num=2048, out_channels=1, memory_items=0,
                 shrink_threshold=0.0025, dropout=0.0, heads=False, dual_norm=False):
        super().__init__()
        self.fm = input_size // 16
        w, flat = base_width, 4 * base_width * (input_size // 16) ** 2
        d = dict(dropout=dropout, dual_norm=dual_norm)
        self.en_block1 = BasicBlock(1, w, downsample=True, **d)
        self.en_block2 = BasicBlock(w, 2 * w, downsample=True, **d)
        self.en_block3 = BasicBlock(2 * w, 4 * w, downsample=True, **d)
        self.en_block4 = BasicBlock(4 * w, 4 * w, downsample=True, **d)
        self.bottle_neck = BottleNeck(flat, mid_num, latent_size, memory_items, shrink_threshold, dual_norm)
        self.de_block1 = BasicBlock(4 * w, 4 * w, **d)
        self.de_block2 = BasicBlock(4 * w, 2 * w, **d)
        self.de_block3 = BasicBlock(2 * w, w, **d)
        self.de_block4 = BasicBlock(w, out_channels, last_layer=True)
        self.heads = heads
        if heads:  # created last, so that the backbone's initial weights do not depend on them
            self.head1, self.head2, self.head3 = (head(c, out_channels, input_size) for c in (4 * w, 2 * w, w))

    def set_domain(self, domain):
        """Adversarial training: the batch-norm set the next passes use (0 clean, 1 adversarial)."""
        for m in self.modules():
            if isinstance(m, DualBN):
                m.domain = domain

    def forward(self, x):
        en1 = self.en_block1(x)
        en2 = self.en_block2(en1)
        en3 = self.en_block3(en2)
        en4 = self.en_block4(en3)
        de = self.bottle_neck(en4.view(en4.size(0), -1)).view(x.size(0), -1, self.fm, self.fm)
        self.z, self.att = self.bottle_neck.z, self.bottle_neck.att
        de1 = self.de_block1(de)
        de2 = self.de_block2(de1)
        de3 = self.de_block3(de2)
        # Block outputs by medad's feature names (QDD-Ens's diversity and meta-learner read them).
        self.blocks = dict(en1=en1, en2=en2, en3=en3, en4=en4, de1=de1, de2=de2, de3=de3)
        self.head_outputs = [self.head1(de1), self.head2(de2), self.head3(de3)] if self.heads else []
        return self.de_block4(de3)


class MetaDecoder(nn.Module):
    """QDD-Ens's meta-learner for reconstruction (medad's MedNN/MetaDecoder.swift): the K learners' en1..en4
    concatenated per level and fused by 1x1 convolution -> BatchNorm -> ReLU, then a U-Net decoder over the fused
    levels (ConvTranspose 4/2/1 -> BatchNorm -> ReLU, the last without)."""

    def __init__(self, learners, base_width=16, out_channels=1):
        super().__init__()
        w = base_width
        for level, c in enumerate((w, 2 * w, 4 * w, 4 * w), 1):
            setattr(self, f"fuse{level}", nn.Sequential(nn.Conv2d(learners * c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)))
        up = lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True))
        self.up1, self.up2, self.up3 = up(4 * w, 4 * w), up(8 * w, 2 * w), up(4 * w, w)
        self.up4 = nn.Sequential(nn.ConvTranspose2d(2 * w, out_channels, 4, stride=2, padding=1, bias=False))

    def forward(self, learners):
        """learners: the K learner AEs, right after their forward pass on the batch."""
        fused = [getattr(self, f"fuse{level}")(torch.cat([m.blocks[f"en{level}"] for m in learners], 1)) for level in (1, 2, 3, 4)]
        h = self.up1(fused[3])
        h = self.up2(torch.cat([h, fused[2]], 1))
        h = self.up3(torch.cat([h, fused[1]], 1))
        return self.up4(torch.cat([h, fused[0]], 1))
