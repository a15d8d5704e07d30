#!/usr/bin/env python3
"""Issue 5's benchmark: MedNN against PyTorch CPU on the same machine, cores, architecture and batch, in one
invocation. The AE of DESIGN.md (64x64 input, base width 16, latent 16, hidden 2048), batch 64:
  train   images per second of a full step: forward (BatchNorm in training mode), MSE, backward, Adam
  score   images per second for 3 learners in eval mode: forward + gradient of mean|x_hat - x| w.r.t. x
  adversarial  images per second of adversarial training with dual batch norm: 10 PGD iterations (eval mode,
          adversarial set, eps 0.01, step 0.005, random start), the crafted batch and the clean one in training
          mode through their own sets, one backward of both losses, Adam
  qdd     images per second of QDD-Ens's joint step: three AEs and the meta-learner in training mode, the MSEs
          minus 0.005 x the deep diversity of en1..en4, de1..de3, one backward, Adam over every parameter
Medians over --steps timed steps after --warmup, then the median over --rounds rounds that alternate the engines. PyTorch runs with torch.set_num_threads(THREADS);
MedNN's OpenBLAS with OPENBLAS_NUM_THREADS=THREADS (default: 2, this machine's cores).

Usage: bench/nn_vs_pytorch.py [--steps 10] [--rounds 3] [--threads 2] [--medad .build/release/medad-bench-nn]
Needs: swift build -c release --product medad-bench-nn; a venv with torch (the local CPU wheel or PyPI).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_ae import AE, MetaDecoder  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def pytorch(batch, size, steps, warmup):
    torch.manual_seed(8)
    x = torch.rand(batch, 1, size, size) * 2 - 1
    model = AE(input_size=size)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.5, 0.999))
    times = []
    for step in range(warmup + steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        ((model(x) - x) ** 2).mean().backward()
        optimizer.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    train = batch / statistics.median(times)
    learners = [AE(input_size=size).eval() for _ in range(3)]
    times = []
    for step in range(warmup + steps):
        start = time.perf_counter()
        for learner in learners:
            xi = x.clone().requires_grad_(True)
            loss = (learner(xi) - xi).abs().mean()
            torch.autograd.grad(loss, xi)
        if step >= warmup:
            times.append(time.perf_counter() - start)
    score = batch / statistics.median(times)
    robust = AE(input_size=size, dual_norm=True)
    optimizer = torch.optim.Adam(robust.parameters(), lr=5e-4, betas=(0.5, 0.999))
    times = []
    for step in range(warmup + steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        robust.eval()
        robust.set_domain(1)
        xa = (x + (torch.rand_like(x) * 2 - 1) * 0.01).clamp(-1, 1)
        for _ in range(10):
            xa.requires_grad_(True)
            g, = torch.autograd.grad(((robust(xa) - x) ** 2).mean(), xa)
            xa = torch.min(torch.max(xa.detach() + 0.005 * torch.sign(g), x - 0.01), x + 0.01).clamp(-1, 1)
        robust.train()
        loss = ((robust(xa) - x) ** 2).mean()
        robust.set_domain(0)
        (loss + ((robust(x) - x) ** 2).mean()).backward()
        optimizer.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    adversarial = batch / statistics.median(times)
    learners = [AE(input_size=size) for _ in range(3)]
    meta = MetaDecoder(3)
    optimizer = torch.optim.Adam([p for m in learners + [meta] for p in m.parameters()], lr=5e-4, betas=(0.5, 0.999))
    levels = ["en1", "en2", "en3", "en4", "de1", "de2", "de3"]
    times = []
    for step in range(warmup + steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = sum(((m(x) - x) ** 2).mean() for m in learners) + ((meta(learners) - x) ** 2).mean()
        pairs = [(0, 1), (0, 2), (1, 2)]
        diversity = sum(sum(torch.sqrt(torch.norm(learners[i].blocks[l] - learners[j].blocks[l]) + 1e-8) for i, j in pairs) / 3
                        for l in levels)
        (loss - 0.005 * diversity).backward()
        optimizer.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return train, score, adversarial, batch / statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--medad", default=os.path.join(HERE, "..", ".build", "release", "medad-bench-nn"))
    args = parser.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    torch.set_num_threads(args.threads)
    # Rounds alternate the two engines so that a slow spell of this shared VM hits both; each side's figure is
    # the median over rounds of its per-round median.
    names = ("train", "score", "adversarial", "qdd")
    results = {name: ([], []) for name in names}
    for _ in range(args.rounds):
        out = subprocess.run([args.medad, "--batch", "64", "--size", "64", "--steps", str(args.steps), "--warmup", str(args.warmup)],
                             check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
        medad = {k: float(v) for k, v in (line.split() for line in out.splitlines())}
        theirs = pytorch(64, 64, args.steps, args.warmup)
        for name, value in zip(names, theirs):
            results[name][0].append(medad[f"{name}_images_per_second"])
            results[name][1].append(value)
    print(f"{'':<8} {'MedNN img/s':>12} {'PyTorch img/s':>14} {'ratio':>7}   ({args.threads} threads, batch 64, 64x64, torch {torch.__version__}, "
          f"median of {args.rounds} rounds x {args.steps} steps)")
    targets = {"train": "target >= 1.0x, aim 1.5x", "score": "target >= 1.0x", "adversarial": "target >= 1.0x", "qdd": "target >= 1.0x"}
    for name, target in targets.items():
        mine, theirs = statistics.median(results[name][0]), statistics.median(results[name][1])
        print(f"{name:<12} {mine:>12.1f} {theirs:>14.1f} {mine / theirs:>6.2f}x   {target}")
    for name in names:
        print(f"  {name} rounds: MedNN " + " ".join(f"{v:.0f}" for v in results[name][0]) +
              " | PyTorch " + " ".join(f"{v:.0f}" for v in results[name][1]))

if __name__ == "__main__":
    main()
