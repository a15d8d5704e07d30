#!/usr/bin/env python3
"""Issues 3 and 17's benchmark: medad's ingest + normalize against the pydicom + Pillow + joblib recipe
(baseline_normalize.py), side by side on the same files and cores, in one invocation.

Corpora (make_corpus.py, distinct files):
  radiograph  300 uncompressed 16-bit 1955x1841 radiographs, half MONOCHROME1       target >= 10x
  jpeg        300 JPEG-baseline 8-bit 1024x1024                                     target >= 8x
  vindr       60 VinDr-CXR-like 3000x3000, 12 bits in 16, MONOCHROME1, half JPEG-LS  ratio printed
For each, the whole command, start-up included, --repeat times, medians:
  baseline  `python baseline_normalize.py IN OUT` (interpreter, imports, joblib's pool on all cores): read,
            invert MONOCHROME1, min-max to 8 bits, BILINEAR resize to 512, save PNG
  medad     `medad run` of a two-stage manifest (ingest + normalize, Med-AD defaults) on an empty run directory
as images per second, the ratio, and peak RSS (/usr/bin/time's maximum resident set: the largest single
process, so medad's own or one decoder worker's; joblib's workers likewise).
Scaling: medad and the baseline on the radiographs at 1 and 2 jobs (the second core's efficiency).
Memory: medad on 100 and on 3,000 small JPEG files (256x256): its peak RSS should not grow with the count.

Usage: bench/ingest_normalize.py [--repeat 3] [--corpora radiograph,jpeg,vindr] [--no-scaling] [--no-memory]
Needs: the release build (swift build -c release) and a venv: python3 -m venv .venv-bench &&
.venv-bench/bin/pip install numpy pydicom pillow joblib pyjpegls
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPORA = {"radiograph": (300, 10), "jpeg": (300, 8), "vindr": (60, None)}


def timed(command):
    """Runs a command under /usr/bin/time; returns (seconds, peak RSS in MiB)."""
    with tempfile.NamedTemporaryFile("r") as report:
        subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%e %M"] + command, check=True, stdout=subprocess.DEVNULL)
        seconds, kib = report.read().split()[-2:]
    return float(seconds), int(kib) / 1024


def medad_run(medad, inputs, work, count, jobs=None):
    """One `medad run` on an empty run directory: (images per second, peak RSS MiB)."""
    manifest = os.path.join(work, "bench.yaml")
    with open(manifest, "w") as f:
        f.write(f"name: bench\nrun_dir: {work}/run\nstages:\n"
                f"  ingest:\n    kind: ingest\n    params:\n      inputs: [{inputs}]\n"
                f"      secret_env: MEDAD_BENCH_SECRET\n"
                f"  normalize:\n    kind: normalize\n    after: [ingest]\n")
    shutil.rmtree(os.path.join(work, "run"), ignore_errors=True)
    seconds, rss = timed([medad, "run", manifest, "--quiet"] + (["--jobs", str(jobs)] if jobs else []))
    made = sum(1 for _ in open(os.path.join(work, "run", "normalize", "normalize.csv"))) - 1
    if made != count:
        sys.exit(f"medad made {made} PNGs of {count}; see {work}/run")
    return count / seconds, rss


def baseline_run(python, inputs, work, count, jobs=None):
    out = os.path.join(work, "baseline")
    shutil.rmtree(out, ignore_errors=True)
    seconds, rss = timed([python, os.path.join(HERE, "baseline_normalize.py"), inputs, out] + (["--jobs", str(jobs)] if jobs else []))
    return count / seconds, rss


def medians(runs):
    return statistics.median(r for r, _ in runs), max(m for _, m in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpora", default=",".join(CORPORA))
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--medad", default=os.path.join(HERE, "..", ".build", "release", "medad"))
    parser.add_argument("--corpus", default=os.path.join(HERE, ".corpus"))
    args = parser.parse_args()
    os.environ.setdefault("MEDAD_BENCH_SECRET", "benchmark-secret")
    python = sys.executable
    work = tempfile.mkdtemp(prefix="medad-bench-")
    print(f"{'corpus':<11} {'files':>5} {'medad img/s':>11} {'baseline img/s':>14} {'ratio':>6}   {'peak RSS medad / baseline':>25}"
          f"   (whole commands, median of {args.repeat})")
    for kind in args.corpora.split(","):
        count, target = CORPORA[kind]
        subprocess.run([python, os.path.join(HERE, "make_corpus.py"), args.corpus, "--count", str(count), "--kinds", kind],
                       check=True, stdout=subprocess.DEVNULL)
        inputs = os.path.join(args.corpus, kind)
        # Alternate the two so that a slow spell of this shared VM hits both.
        mine, theirs = [], []
        for _ in range(args.repeat):
            mine.append(medad_run(args.medad, inputs, work, count))
            theirs.append(baseline_run(python, inputs, work, count))
        (m, m_rss), (b, b_rss) = medians(mine), medians(theirs)
        goal = f"target >= {target}x" if target else "ratio printed"
        print(f"{kind:<11} {count:>5} {m:>11.1f} {b:>14.1f} {m / b:>5.1f}x   {f'{m_rss:.0f} / {b_rss:.0f} MiB':>25}   {goal}", flush=True)
        print(f"  rounds: medad " + " ".join(f"{r:.1f}" for r, _ in mine) + " | baseline " + " ".join(f"{r:.1f}" for r, _ in theirs))
    if not args.no_scaling:
        inputs = os.path.join(args.corpus, "radiograph")
        for name, run in (("medad", medad_run), ("baseline", baseline_run)):
            rates = {jobs: medians([run(args.medad if name == "medad" else python, inputs, work, 300, jobs)
                                    for _ in range(args.repeat)])[0] for jobs in (1, 2)}
            print(f"scaling     {name:<8} radiographs at 1 job {rates[1]:.1f} img/s, 2 jobs {rates[2]:.1f} img/s: "
                  f"x{rates[2] / rates[1]:.2f} (efficiency {rates[2] / rates[1] / 2:.0%})", flush=True)
    if not args.no_memory:
        subprocess.run([python, os.path.join(HERE, "make_corpus.py"), args.corpus, "--count", "3000", "--kinds", "small"],
                       check=True, stdout=subprocess.DEVNULL)
        few = os.path.join(work, "small-100")
        os.makedirs(few, exist_ok=True)
        for name in sorted(os.listdir(os.path.join(args.corpus, "small")))[:100]:
            shutil.copyfile(os.path.join(args.corpus, "small", name), os.path.join(few, name))
        for count, inputs in ((100, few), (3000, os.path.join(args.corpus, "small"))):
            rate, rss = medad_run(args.medad, inputs, work, count)
            print(f"memory      medad on {count:>5} small JPEG files: {rate:.1f} img/s, peak RSS {rss:.0f} MiB", flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
