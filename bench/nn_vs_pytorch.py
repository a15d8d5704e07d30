#!/usr/bin/env python3
"""Issues 5 and 17's benchmark: MedNN against PyTorch CPU on the same machine, cores, architecture and batch, in one
invocation. The AE of DESIGN.md (base width 16, latent 16, hidden 2048), batch 64, random inputs:
  train@S      images per second of a full step at S x S input (S = 64, 128, 256): forward (BatchNorm in
               training mode), MSE, backward, Adam
  train@64/1t  the same at one thread (the second core's efficiency: train@64 / train@64/1t)
  score        3 learners in eval mode: forward + gradient of mean|x_hat - x| w.r.t. x (dual-space uncertainty)
  mcdropout    MC-dropout scoring: one network with Dropout2d(0.4) after en1..en4 and de1..de3, BatchNorm in
               eval mode, 15 sampled passes, each forward + input gradient as for score
  adversarial  adversarial training with dual batch norm: 10 PGD iterations (eval mode, adversarial set, eps
               0.01, step 0.005, random start), the crafted batch and the clean one in training mode through their
               own sets, one backward of both losses, Adam
  qdd          QDD-Ens's joint step: three AEs and the meta-learner in training mode, the MSEs minus 0.005 x the deep
               diversity of en1..en4, de1..de3, one backward, Adam over every parameter
  memory       MedNN only: D2UE training (K 3) for one epoch over 3,851 images (RSNA's training set) at 64 x 64 with a
               2,000-image validation pass, in a process of its own: its peak resident memory (target < 400 MB)
Medians over --steps timed steps after --warmup, then the median over --rounds rounds that alternate the engines.
PyTorch runs with torch.set_num_threads(THREADS); MedNN with --threads THREADS.

Usage: bench/nn_vs_pytorch.py [--steps 5] [--rounds 3] [--threads 2] [--cases train@64,score,...]
Needs: swift build -c release --product medad-bench-nn; a venv with torch (PyPI's wheel).
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
BATCH = 64
TARGETS = {"train@64": 1.5, "train@128": 1.5, "train@256": 1.5, "train@64/1t": 1.5, "score": 1.5, "mcdropout": 1.5,
           "adversarial": 1.0, "qdd": 1.0}


def rate(step, steps, warmup):
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        step(i)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return BATCH / statistics.median(times)


def torch_train(size, steps, warmup):
    torch.manual_seed(8)
    x = torch.rand(BATCH, 1, size, size) * 2 - 1
    model = AE(input_size=size).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.5, 0.999))

    def step(_):
        optimizer.zero_grad()
        ((model(x) - x) ** 2).mean().backward()
        optimizer.step()
    return rate(step, steps, warmup)


def input_gradients(models, x):
    for model in models:
        xi = x.clone().requires_grad_(True)
        torch.autograd.grad((model(xi) - xi).abs().mean(), xi)


def torch_score(steps, warmup):
    x = torch.rand(BATCH, 1, 64, 64) * 2 - 1
    learners = [AE().eval() for _ in range(3)]
    for learner in learners:
        learner.requires_grad_(False)  # as MedNN's frozen learners: input gradients only
    return rate(lambda _: input_gradients(learners, x), steps, warmup)


def torch_mcdropout(steps, warmup):
    x = torch.rand(BATCH, 1, 64, 64) * 2 - 1
    model = AE(dropout=0.4).eval().requires_grad_(False)
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout2d):
            m.train()  # only the dropout layers sample
    return rate(lambda _: input_gradients([model] * 15, x), steps, warmup)


def torch_adversarial(steps, warmup):
    x = torch.rand(BATCH, 1, 64, 64) * 2 - 1
    robust = AE(dual_norm=True)
    optimizer = torch.optim.Adam(robust.parameters(), lr=5e-4, betas=(0.5, 0.999))

    def step(_):
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
    return rate(step, steps, warmup)


def torch_qdd(steps, warmup):
    x = torch.rand(BATCH, 1, 64, 64) * 2 - 1
    learners = [AE() for _ in range(3)]
    meta = MetaDecoder(3)
    optimizer = torch.optim.Adam([p for m in learners + [meta] for p in m.parameters()], lr=5e-4, betas=(0.5, 0.999))
    levels = ["en1", "en2", "en3", "en4", "de1", "de2", "de3"]
    pairs = [(0, 1), (0, 2), (1, 2)]

    def step(_):
        optimizer.zero_grad()
        loss = sum(((m(x) - x) ** 2).mean() for m in learners) + ((meta(learners) - x) ** 2).mean()
        diversity = sum(sum(torch.sqrt(torch.norm(learners[i].blocks[l] - learners[j].blocks[l]) + 1e-8) for i, j in pairs) / 3
                        for l in levels)
        (loss - 0.005 * diversity).backward()
        optimizer.step()
    return rate(step, steps, warmup)


def pytorch(case, threads, steps, warmup):
    torch.set_num_threads(threads)
    if case.startswith("train@"):
        return torch_train(int(case[6:].split("/")[0]), steps, warmup)
    return {"score": torch_score, "mcdropout": torch_mcdropout, "adversarial": torch_adversarial, "qdd": torch_qdd}[case](steps, warmup)


def medad(binary, cases, size, threads, steps, warmup, extra=()):
    out = subprocess.run([binary, "--only", ",".join(cases), "--size", str(size), "--threads", str(threads),
                          "--steps", str(steps), "--warmup", str(warmup), *extra],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines())}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default=",".join(list(TARGETS) + ["memory"]))
    parser.add_argument("--medad", default=os.path.join(HERE, "..", ".build", "release", "medad-bench-nn"))
    args = parser.parse_args()
    cases = args.cases.split(",")
    compared = [c for c in cases if c in TARGETS]
    results = {case: ([], []) for case in compared}
    # Rounds alternate the two engines so that a slow spell of this shared VM hits both; each side's figure is
    # the median over rounds of its per-round median.
    for _ in range(args.rounds):
        for case in compared:
            threads = 1 if case.endswith("/1t") else args.threads
            name, size = (("train", int(case[6:].split("/")[0])) if case.startswith("train@") else (case, 64))
            mine = medad(args.medad, [name], size, threads, args.steps, args.warmup)[f"{name}_images_per_second"]
            results[case][0].append(mine)
            results[case][1].append(pytorch(case, threads, args.steps, args.warmup))
    print(f"{'case':<13} {'MedNN img/s':>12} {'PyTorch img/s':>14} {'ratio':>7}   ({args.threads} threads unless /1t, batch 64, "
          f"torch {torch.__version__}, median of {args.rounds} rounds x {args.steps} steps)")
    for case in compared:
        mine, theirs = statistics.median(results[case][0]), statistics.median(results[case][1])
        print(f"{case:<13} {mine:>12.1f} {theirs:>14.1f} {mine / theirs:>6.2f}x   target >= {TARGETS[case]}x")
    if "train@64" in results and "train@64/1t" in results:
        for engine, side in (("MedNN", 0), ("PyTorch", 1)):
            one, two = statistics.median(results["train@64/1t"][side]), statistics.median(results["train@64"][side])
            print(f"scaling       {engine}: train@64 at 2 threads / 1 thread = {two / one:.2f} (efficiency {two / one / 2:.0%})")
    for case in compared:
        print(f"  {case} rounds: MedNN " + " ".join(f"{v:.0f}" for v in results[case][0]) +
              " | PyTorch " + " ".join(f"{v:.0f}" for v in results[case][1]))
    if "memory" in cases:
        figures = medad(args.medad, ["memory"], 64, args.threads, args.steps, args.warmup)
        print(f"memory        D2UE K 3, 3,851 images 64x64, one epoch + 2,000-image validation: peak resident "
              f"{figures['memory_peak_resident_mb']:.0f} MB (target < 400), {figures['memory_train_images_per_second']:.0f} img/s")


if __name__ == "__main__":
    main()
