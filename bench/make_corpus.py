#!/usr/bin/env python3
"""Writes the DICOM corpora of the ingest + normalize benchmark (issues 3 and 17), with pydicom, Pillow and
pyjpegls, independently of medad's own DICOM writer:

  radiograph/  uncompressed 16-bit radiographs, 1955x1841 (a typical chest radiograph's size),
               12 bits stored, half MONOCHROME1, explicit little endian
  jpeg/        JPEG baseline 8-bit 1024x1024 (the RSNA layout), quality 90
  vindr/       VinDr-CXR-like: 3000x3000, 12 bits stored in 16, MONOCHROME1, even files JPEG-LS lossless and odd
               files uncompressed
  small/       JPEG baseline 8-bit 256x256: many files quickly, for the peak-memory check

Every file carries a synthetic patient name, ID and birth date, as real exports do.
Usage: make_corpus.py OUT_DIR [--count N] [--kinds radiograph,jpeg]
"""
import argparse
import io
import os

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, JPEGLSLossless, generate_uid

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
DX_IMAGE = "1.2.840.10008.5.1.4.1.1.1.1"


def phantom(rng, rows, cols, maximum):
    """A smooth chest-like field with noise, so that compression and resizing see realistic content."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    y /= rows
    x /= cols
    body = np.exp(-(((x - 0.5) / 0.42) ** 4 + ((y - 0.55) / 0.48) ** 4))
    lungs = sum(np.exp(-(((x - cx) / 0.14) ** 2 + ((y - 0.5) / 0.27) ** 2)) for cx in (0.3, 0.7))
    image = 0.15 + 0.7 * body - 0.45 * lungs * body + 0.05 * np.sin(40 * y + rng.uniform(0, 6))
    image += rng.normal(0, 0.02, size=image.shape).astype(np.float32)
    return np.clip(image * maximum, 0, maximum)


def dataset(path, index, sop_class, syntax):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[path])
    meta.TransferSyntaxUID = syntax
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[path, "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[path, "series"])
    ds.PatientName = f"BENCH^PATIENT{index}"
    ds.PatientID = f"BENCH-{index:06d}"
    ds.PatientBirthDate = "19600101"
    ds.Modality = "DX"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.SamplesPerPixel = 1
    return ds


def write_radiograph(path, index, rng):
    rows, cols = 1841, 1955
    ds = dataset(path, index, DX_IMAGE, ExplicitVRLittleEndian)
    pixels = phantom(rng, rows, cols, 4095).astype(np.uint16)
    monochrome1 = index % 2 == 1
    if monochrome1:
        pixels = 4095 - pixels
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelSpacing = [0.139, 0.139]
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)


def write_vindr(path, index, rng):
    size = 3000
    syntax = JPEGLSLossless if index % 2 == 0 else ExplicitVRLittleEndian
    ds = dataset(path, index, DX_IMAGE, ExplicitVRLittleEndian)
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.Rows, ds.Columns = size, size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelSpacing = [0.1, 0.1]
    ds.PixelData = (4095 - phantom(rng, size, size, 4095)).astype(np.uint16).tobytes()
    if syntax != ExplicitVRLittleEndian:
        ds.compress(syntax)  # through pyjpegls (CharLS)
    ds.save_as(path, enforce_file_format=True)


def write_jpeg(path, index, rng, size=1024):
    ds = dataset(path, index, SECONDARY_CAPTURE, JPEGBaseline8Bit)
    pixels = phantom(rng, size, size, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = size, size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--kinds", default="radiograph,jpeg")
    args = parser.parse_args()
    writers = {
        "radiograph": write_radiograph,
        "jpeg": write_jpeg,
        "vindr": write_vindr,
        "small": lambda path, index, rng: write_jpeg(path, index, rng, size=256),
    }
    for kind in args.kinds.split(","):
        folder = os.path.join(args.out, kind)
        os.makedirs(folder, exist_ok=True)
        for index in range(args.count):
            path = os.path.join(folder, f"{kind}-{index:05d}.dcm")
            if not os.path.exists(path):
                writers[kind](path, index, np.random.default_rng(index))
        print(f"{folder}: {args.count} files")


if __name__ == "__main__":
    main()
