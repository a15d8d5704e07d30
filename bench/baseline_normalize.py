#!/usr/bin/env python3
"""The Python baseline of the ingest + normalize benchmark: the glue script researchers run today.
pydicom reads each file, MONOCHROME1 is inverted (maximum minus value), the pixels are min-max scaled
to 8 bits (unless already 8-bit), Pillow resizes to 512x512 with BILINEAR and saves a PNG; joblib
spreads the files over all cores.

Usage: baseline_normalize.py IN_DIR OUT_DIR [--jobs N] [--repeat R]
Prints one line per repetition: files, seconds, images per second.
"""
import argparse
import glob
import os
import time

import numpy as np
import pydicom
from joblib import Parallel, delayed
from PIL import Image


def normalize(path, out_dir):
    ds = pydicom.dcmread(path)
    data = ds.pixel_array
    if ds.PhotometricInterpretation == "MONOCHROME1":
        data = np.amax(data) - data
    if data.dtype != np.uint8:
        data = data - np.min(data)
        data = data / np.max(data)
        data = (data * 255).astype(np.uint8)
    image = Image.fromarray(data).resize((512, 512), Image.BILINEAR)
    image.save(os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + ".png"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.input, "**", "*.dcm"), recursive=True))
    os.makedirs(args.output, exist_ok=True)
    with Parallel(n_jobs=args.jobs) as parallel:
        for _ in range(args.repeat):
            start = time.perf_counter()
            parallel(delayed(normalize)(f, args.output) for f in files)
            seconds = time.perf_counter() - start
            print(f"files {len(files)} seconds {seconds:.3f} images_per_second {len(files) / seconds:.1f}", flush=True)


if __name__ == "__main__":
    main()
