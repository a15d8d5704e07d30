#!/usr/bin/env python3
"""PyTorch reference values for MedNN's exactness tests (run once from this folder; commit the outputs).

For AE (one output channel, MSE loss) and AE-U (two channels, heteroscedastic loss), with PyTorch's default
initialisation under torch.manual_seed, input 32x32, base width 2, latent 4, hidden 16, batch 4:
  <name>_init.safetensors   the initial state_dict (what the Swift test loads)
  <name>_case.safetensors   input; training-mode output, loss and z; gradients of every parameter
                            (grad.<param>) and of the input (grad.input: network and loss paths together);
                            after three Adam steps (lr 5e-4, betas 0.5/0.999) every parameter and running
                            statistic (adam3.<name>) and the eval-mode output then (adam3.eval_output)
Usage: ../../../.venv-bench/bin/python make_fixtures.py   (torch and safetensors from PyPI / the local wheel)
"""
import torch
from safetensors.torch import save_file
from torch import nn

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


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
    def __init__(self, input_size=32, base_width=2, latent_size=4, mid_num=16, out_channels=1):
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


def mse(out, x):
    return ((out - x) ** 2).mean()


def heteroscedastic(out, x):
    mean, log_var = out[:, :1], out[:, 1:]
    return (torch.exp(-log_var) * (mean - x) ** 2).mean() + log_var.mean()


NOISE_ONLY = {"linear_enc.0.bias", "linear_enc.3.bias", "linear_dec.0.bias"}


def state(model):
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def make(name, out_channels, loss_fn, seed):
    torch.manual_seed(seed)
    model = AE(out_channels=out_channels)
    init = state(model)
    save_file(init, f"{name}_init.safetensors")
    x = (torch.rand(4, 1, 32, 32) * 2 - 1).requires_grad_(True)
    model.train()
    out = model(x)
    loss = loss_fn(out, x)
    loss.backward()
    case = {"input": x.detach().clone(), "output": out.detach().clone(), "loss": loss.detach().reshape(1), "z": model.z.detach().clone(),
            "grad.input": x.grad.detach().clone()}
    for k, p in model.named_parameters():
        case[f"grad.{k}"] = p.grad.detach().clone()

    trained = AE(out_channels=out_channels)
    trained.load_state_dict(init)
    trained.train()
    optimizer = torch.optim.Adam([p for k, p in trained.named_parameters() if k not in NOISE_ONLY], lr=5e-4, betas=(0.5, 0.999))
    data = x.detach()
    for _ in range(3):
        optimizer.zero_grad()
        loss_fn(trained(data), data).backward()
        optimizer.step()
    for k, v in state(trained).items():
        case[f"adam3.{k}"] = v
    trained.eval()
    with torch.no_grad():
        case["adam3.eval_output"] = trained(data).clone()
    save_file({k: v.contiguous() for k, v in case.items()}, f"{name}_case.safetensors")


make("ae", 1, mse, 0)
make("aeu", 2, heteroscedastic, 1)


def linear_cka(x, y):
    """DESIGN.md section 3: HSIC over centred Gram matrices, floor 1e-8 on the denominator."""
    n = x.shape[0]
    h = torch.eye(n, dtype=x.dtype) - torch.ones(n, n, dtype=x.dtype) / n
    kc, lc = h @ (x @ x.T) @ h, h @ (y @ y.T) @ h
    hsic = lambda a, b: (a * b).sum()
    return hsic(kc, lc) / torch.clamp(torch.sqrt(hsic(kc, kc)) * torch.sqrt(hsic(lc, lc)), min=1e-8)


# cka.safetensors: features of two learners for a batch of 8 (x: 12 values per sample, y: 5), the CKA and its
# gradients, computed in float64 and stored as float32.
torch.manual_seed(2)
x64 = torch.randn(8, 12, dtype=torch.float64)
y64 = (x64[:, :5] * 0.7 + 0.3 * torch.randn(8, 5, dtype=torch.float64))
x32, y32 = x64.float(), y64.float()
xg, yg = x32.double().requires_grad_(True), y32.double().requires_grad_(True)
value = linear_cka(xg, yg)
value.backward()
save_file({"x": x32, "y": y32, "cka": value.detach().float().reshape(1), "grad.x": xg.grad.float(), "grad.y": yg.grad.float()}, "cka.safetensors")
