"""The AE of DESIGN.md section 3 in PyTorch, with the module names medad's state_dicts use. Shared by
bench/nn_vs_pytorch.py and Tests/MedNNTests/Fixtures/make_fixtures.py."""
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, in_planes, out_planes, downsample=False, last_layer=False):
        super().__init__()
        if downsample:
            layers = [nn.Conv2d(in_planes, out_planes, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(out_planes), nn.ReLU(True)]
        else:
            layers = [nn.ConvTranspose2d(in_planes, out_planes, 4, stride=2, padding=1, bias=False)]
            if not last_layer:
                layers += [nn.BatchNorm2d(out_planes), nn.ReLU(True)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class AE(nn.Module):
    def __init__(self, input_size=64, base_width=16, latent_size=16, mid_num=2048, out_channels=1):
        super().__init__()
        self.fm = input_size // 16
        w, flat = base_width, 4 * base_width * (input_size // 16) ** 2
        self.en_block1 = BasicBlock(1, w, downsample=True)
        self.en_block2 = BasicBlock(w, 2 * w, downsample=True)
        self.en_block3 = BasicBlock(2 * w, 4 * w, downsample=True)
        self.en_block4 = BasicBlock(4 * w, 4 * w, downsample=True)
        self.linear_enc = nn.Sequential(nn.Linear(flat, mid_num), nn.BatchNorm1d(mid_num), nn.ReLU(True), nn.Linear(mid_num, latent_size))
        self.linear_dec = nn.Sequential(nn.Linear(latent_size, mid_num), nn.BatchNorm1d(mid_num), nn.ReLU(True), nn.Linear(mid_num, flat))
        self.de_block1 = BasicBlock(4 * w, 4 * w)
        self.de_block2 = BasicBlock(4 * w, 2 * w)
        self.de_block3 = BasicBlock(2 * w, w)
        self.de_block4 = BasicBlock(w, out_channels, last_layer=True)

    def forward(self, x):
        en4 = self.en_block4(self.en_block3(self.en_block2(self.en_block1(x))))
        self.z = self.linear_enc(en4.view(en4.size(0), -1))
        de = self.linear_dec(self.z).view(x.size(0), -1, self.fm, self.fm)
        return self.de_block4(self.de_block3(self.de_block2(self.de_block1(de))))
