#!/usr/bin/env python3
"""Issue 3's benchmark: medad's ingest + normalize against the pydicom + Pillow + joblib baseline
(baseline_normalize.py), side by side on the same files and cores, in one invocation.

For each corpus (make_corpus.py: 100 uncompressed 16-bit 1955x1841 radiographs, 100 JPEG-baseline 1024x1024):
  - baseline: read, invert MONOCHROME1, min-max to 8 bits, BILINEAR resize to 512, save PNG, all cores
  - medad:    `medad run` of a two-stage manifest (ingest + normalize, Med-AD defaults) in a fresh run directory
Each is run --repeat times; medians are printed as images per second, two ways:
  steady    throughput once started: the baseline inside its own timer (joblib's pool already warm), medad
            as the marginal rate (100 - 1 files) / (time for 100 files - time for 1 file)
  command   the whole command, start-up included: `python baseline_normalize.py` (interpreter, imports, pool)
            against `medad run` (process, manifest, decoder workers)
with the ratios and peak RSS (/usr/bin/time's maximum resident set, which covers medad's decoder workers and
joblib's workers).
--memory also runs medad on 1,000 JPEG files to show that peak memory does not grow with the file count.

Usage: bench/ingest_normalize.py [--repeat 5] [--memory] [--medad .build/release/medad] [--corpus bench/.corpus]
Needs: the release build (swift build -c release) and a venv: python3 -m venv .venv-bench && .venv-bench/bin/pip install numpy pydicom pillow joblib
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(command):
    """Runs a command under /usr/bin/time; returns (seconds, peak RSS in MiB, stdout)."""
    with tempfile.NamedTemporaryFile("r") as report:
        out = subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%e %M"] + command,
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        seconds, kib = report.read().split()[-2:]
    return float(seconds), int(kib) / 1024, out


def medad_run(medad, inputs, work, count):
    manifest = os.path.join(work, "bench.yaml")
    with open(manifest, "w") as f:
        f.write(f"name: bench\nrun_dir: {work}/run\nstages:\n"
                f"  ingest:\n    kind: ingest\n    params:\n      inputs: [{inputs}]\n"
                f"      secret_env: MEDAD_BENCH_SECRET\n"
                f"  normalize:\n    kind: normalize\n    after: [ingest]\n")
    shutil.rmtree(os.path.join(work, "run"), ignore_errors=True)
    seconds, rss, _ = timed([medad, "run", manifest, "--quiet"])
    made = sum(1 for _ in open(os.path.join(work, "run", "normalize", "normalize.csv"))) - 1
    if made != count:
        sys.exit(f"medad made {made} PNGs of {count}; see {work}/run")
    return count / seconds, rss


def baseline_run(python, inputs, work, repeat):
    """Steady-state rates (one process, repeated) and whole-command seconds (a fresh process each time)."""
    out = os.path.join(work, "baseline")
    shutil.rmtree(out, ignore_errors=True)
    _, rss, text = timed([python, os.path.join(HERE, "baseline_normalize.py"), inputs, out, "--repeat", str(repeat)])
    rates = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("files")]
    commands = [timed([python, os.path.join(HERE, "baseline_normalize.py"), inputs, out])[0] for _ in range(repeat)]
    return rates, statistics.median(commands), rss


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--medad", default=os.path.join(HERE, "..", ".build", "release", "medad"))
    parser.add_argument("--corpus", default=os.path.join(HERE, ".corpus"))
    args = parser.parse_args()
    os.environ.setdefault("MEDAD_BENCH_SECRET", "benchmark-secret")
    python = sys.executable
    subprocess.run([python, os.path.join(HERE, "make_corpus.py"), args.corpus, "--count", "100"], check=True)
    work = tempfile.mkdtemp(prefix="medad-bench-")
    print(f"{'corpus':<11} {'':<8} {'medad img/s':>11} {'baseline img/s':>14} {'ratio':>6}   {'peak RSS medad / baseline':>25}")
    for kind, target in (("radiograph", 10), ("jpeg", 5)):
        inputs = os.path.join(args.corpus, kind)
        one = os.path.join(work, f"one-{kind}")
        os.makedirs(one, exist_ok=True)
        first = sorted(os.listdir(inputs))[0]
        if not os.path.exists(os.path.join(one, first)):
            shutil.copyfile(os.path.join(inputs, first), os.path.join(one, first))
        baseline_rates, baseline_command, baseline_rss = baseline_run(python, inputs, work, args.repeat)
        runs = [medad_run(args.medad, inputs, work, 100) for _ in range(args.repeat)]
        singles = [medad_run(args.medad, one, work, 1) for _ in range(args.repeat)]
        medad_command = statistics.median(100 / r for r, _ in runs)
        medad_single = statistics.median(1 / r for r, _ in singles)
        steady = 99 / (medad_command - medad_single), statistics.median(baseline_rates)
        command = 100 / medad_command, 100 / baseline_command
        rss = f"{max(m for _, m in runs):.0f} / {baseline_rss:.0f} MiB"
        print(f"{kind:<11} {'steady':<8} {steady[0]:>11.1f} {steady[1]:>14.1f} {steady[0] / steady[1]:>5.1f}x   {rss:>25}   (target {target}x)")
        print(f"{'':<11} {'command':<8} {command[0]:>11.1f} {command[1]:>14.1f} {command[0] / command[1]:>5.1f}x", flush=True)
    if args.memory:
        big = os.path.join(args.corpus, "jpeg-1000")
        subprocess.run([python, os.path.join(HERE, "make_corpus.py"), big, "--count", "1000", "--kinds", "jpeg"], check=True)
        for count, inputs in ((100, os.path.join(args.corpus, "jpeg")), (1000, os.path.join(big, "jpeg"))):
            rate, rss = medad_run(args.medad, inputs, work, count)
            print(f"memory: medad on {count:>5} JPEG files: {rate:.1f} img/s, peak RSS {rss:.0f} MiB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
