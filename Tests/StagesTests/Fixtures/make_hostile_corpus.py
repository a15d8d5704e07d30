"""Writes hostile/: files that lie in their headers, damaged compressed streams and hostile identifiers, each
small, plus expected.csv (file, class, outcome, reason). HardeningTests runs them through ingest and normalize
and checks every row: an error row of ingest ("error") or of normalize ("normalize error": of JPEG baseline ingest
reads the stream's header only) whose reason holds the expected words, or an image.

    python3 -m venv .venv-fixtures && .venv-fixtures/bin/pip install pydicom pillow numpy
    .venv-fixtures/bin/python Tests/StagesTests/Fixtures/make_hostile_corpus.py

Deterministic: the same versions write the same bytes. Classes follow issue 11: 1 identifiers, 3 size claims,
4 lying headers and damaged streams; control files are valid and must stay images.
"""
import csv
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (ExplicitVRLittleEndian, JPEG2000Lossless, JPEGBaseline8Bit, RLELossless,
                         SecondaryCaptureImageStorage)

OUT = Path(__file__).parent / "hostile"
rows = []


def gradient(size=32, bits=12):
    y, x = np.mgrid[0:size, 0:size]
    return ((x * 37 + y * 11) % (1 << bits)).astype(np.uint16)


def dataset(uid, syntax=ExplicitVRLittleEndian, rows_=32, columns=32, bits=16, stored=12, photometric="MONOCHROME2",
            samples=1, representation=0, high=None):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = uid
    ds.PatientName = "HOSTILE^PATIENT"
    ds.PatientID = "HOSTILE-ID-1"
    ds.PatientBirthDate = "19000101"
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows_, columns
    ds.SamplesPerPixel = samples
    if photometric is not None:
        ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored = bits, stored
    ds.HighBit = stored - 1 if high is None else high
    ds.PixelRepresentation = representation
    return ds


def save(name, ds, klass, outcome, reason=""):
    ds.save_as(OUT / name, enforce_file_format=True)
    rows.append((name, klass, outcome, reason))


def raw(name, data, klass, outcome, reason=""):
    (OUT / name).write_bytes(data)
    rows.append((name, klass, outcome, reason))


def native(uid="1.2.826.0.1.1", **kw):
    ds = dataset(uid, **kw)
    ds.PixelData = gradient(ds.Rows, min(ds.BitsStored, 12)).tobytes() if kw.get("bits", 16) == 16 else bytes(ds.Rows * ds.Columns)
    return ds


def jpeg_bytes(size=32, quality=90):
    buffer = io.BytesIO()
    Image.fromarray((gradient(size, 8) * 7 % 256).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def j2k_bytes(size=32):
    buffer = io.BytesIO()
    Image.fromarray((gradient(size, 8) * 5 % 256).astype(np.uint8)).save(buffer, "JPEG2000", irreversible=False)
    return buffer.getvalue()


def encapsulated(uid, syntax, fragment, rows_=32, columns=32, frames=None):
    ds = dataset(uid, syntax=syntax, rows_=rows_, columns=columns, bits=8, stored=8)
    if frames is not None:
        ds.NumberOfFrames = frames
    ds.PixelData = encapsulate([fragment])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    return ds


def rle_frame(pixels):
    """One RLE frame (PS3.5 G): a 64-byte header, then each byte plane as literal runs of at most 128."""
    planes = [(pixels >> 8).astype(np.uint8).tobytes(), (pixels & 0xFF).astype(np.uint8).tobytes()]
    segments = []
    for plane in planes:
        out = bytearray()
        for row in range(0, len(plane), pixels.shape[1]):
            line = plane[row:row + pixels.shape[1]]
            for start in range(0, len(line), 128):
                chunk = line[start:start + 128]
                out += bytes([len(chunk) - 1]) + chunk
        if len(out) % 2:
            out += b"\0"
        segments.append(bytes(out))
    offsets, position = [], 64
    for segment in segments:
        offsets.append(position)
        position += len(segment)
    header = struct.pack("<16I", len(segments), *offsets, *([0] * (15 - len(segments))))
    return header + b"".join(segments)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def main():
    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()

    # Controls: valid files of each kind stay images.
    save("control_native.dcm", native(), "control", "image")
    pixels = gradient(32, 12)
    good_rle = dataset("1.2.826.0.1.2", syntax=RLELossless)
    good_rle.PixelData = encapsulate([rle_frame(pixels)])
    save("control_rle.dcm", good_rle, "control", "image")
    save("control_jpeg.dcm", encapsulated("1.2.826.0.1.3", JPEGBaseline8Bit, jpeg_bytes()), "control", "image")
    save("control_j2k.dcm", encapsulated("1.2.826.0.1.4", JPEG2000Lossless, j2k_bytes()), "control", "image")
    raw("control_jpg.jpg", jpeg_bytes(), "control", "image")
    raw("control_j2k.j2k", j2k_bytes(), "control", "image")
    png = io.BytesIO()
    Image.fromarray((gradient(32, 8)).astype(np.uint8)).save(png, "PNG")
    raw("control_png.png", png.getvalue(), "control", "image")

    # 1. Identifiers that are not UIDs: images, but never paths.
    save("id_traversal.dcm", native("../../../../../../tmp/medad-escape/owned"), "1 identifiers", "image")
    save("id_specials.dcm", native("1.2.3,<b>\"x\"/y\\z"), "1 identifiers", "image")
    save("id_long.dcm", native("1." + ".".join(["123456789"] * 40)), "1 identifiers", "image")
    raw("..hidden-looking.png", png.getvalue(), "1 identifiers", "skipped")  # hidden files are not walked
    raw("stem with spaces & <tags>.png", png.getvalue(), "1 identifiers", "image")

    # 3. Size claims: checked against the limit and the bytes present before anything is allocated.
    ds = native(rows_=3, columns=3, bits=8, stored=8, photometric="RGB", samples=3)
    ds.PlanarConfiguration = 0
    ds.NumberOfFrames = 2147483647
    ds.PixelData = bytes(27)
    save("claims_2g_frames_rgb.dcm", ds, "3 size claims", "error", "exceed the limit")
    ds = native()
    ds.Rows, ds.Columns = 65535, 65535
    save("claims_65535_square.dcm", ds, "3 size claims", "error", "exceed the limit")
    data = bytearray(jpeg_bytes(16))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 9000, 9000)
    raw("claims_sof_9000.jpg", bytes(data), "3 size claims", "error", "needs at least")
    claimed = bytearray(jpeg_bytes(32))
    sof = claimed.index(b"\xff\xc0")
    claimed[sof + 5:sof + 9] = struct.pack(">HH", 4000, 4000)  # stream and header agree on a size the data cannot hold
    save("claims_jpeg_extended_4000.dcm", encapsulated("1.2.826.0.3.1", "1.2.840.10008.1.2.4.51", bytes(claimed), rows_=4000,
         columns=4000), "3 size claims", "error", "cannot hold")
    ihdr = struct.pack(">IIBBBBB", 5000, 5000, 16, 2, 0, 0, 0)  # 5000x5000 RGB, 16 bits: 150 MB claimed by 60 bytes
    raw("claims_ihdr_5000_rgb16.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b""), "3 size claims", "error", "more than a")
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    raw("claims_ihdr_60000.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b""), "3 size claims", "error", "exceed the limit")
    good = (OUT / "control_native.dcm").read_bytes()
    tag = good.index(b"\xe0\x7f\x10\x00")
    lie = bytearray(good)
    lie[tag + 8:tag + 12] = struct.pack("<I", 0xFFFFFFF0)  # OW: tag, VR, 2 reserved, 4-byte length
    raw("claims_pixel_length_4g.dcm", bytes(lie), "3 size claims", "error", "truncated or corrupt DICOM")

    # 4. Headers outside the standard's values, and claims the data does not back.
    ds = native()
    ds.NumberOfFrames = 1000
    save("header_1000_frames_one_present.dcm", ds, "4 lying headers", "error", "Pixel Data holds")
    save("header_high_bit_15_of_12.dcm", native(high=15), "4 lying headers", "error", "High Bit")
    save("header_pixel_representation_65535.dcm", native(representation=65535), "4 lying headers", "error", "Pixel Representation")
    save("header_photometric_xyz.dcm", native(photometric="XYZ"), "4 lying headers", "error", "Photometric Interpretation")
    save("header_photometric_missing.dcm", native(photometric=None), "4 lying headers", "error", "Photometric Interpretation")
    save("header_samples_2.dcm", native(samples=2), "4 lying headers", "error", "Samples per Pixel")
    save("header_bits_stored_0.dcm", native(stored=0, high=0), "4 lying headers", "error", "Bits Stored")
    save("header_bits_allocated_12.dcm", native(bits=12, stored=12), "4 lying headers", "error", "Bits Allocated")
    ds = native()
    ds.NumberOfFrames = "0"
    save("header_frames_zero.dcm", ds, "4 lying headers", "error", "Number of Frames")
    ds = native()
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    save("header_native_half_present.dcm", ds, "4 lying headers", "error", "Pixel Data holds")

    # 4. Damaged compressed streams: the decoders warn, and a warning is an error, never an image.
    stream = jpeg_bytes(64)
    scan = stream.index(b"\xff\xda")
    save("stream_jpeg_fragment_truncated.dcm", encapsulated("1.2.826.0.4.1", JPEGBaseline8Bit, stream[: scan + (len(stream) - scan) // 2],
         rows_=64, columns=64), "4 damaged streams", "normalize error", "corrupt JPEG")
    save("stream_jpeg_columns_lie.dcm", encapsulated("1.2.826.0.4.2", JPEGBaseline8Bit, stream, rows_=64, columns=32),
         "4 damaged streams", "error", "the header says")
    save("stream_encapsulated_50_frames_one_fragment.dcm", encapsulated("1.2.826.0.4.3", JPEGBaseline8Bit, stream, rows_=64,
         columns=64, frames=50), "4 damaged streams", "error", "fragment")
    raw("stream_jpeg_truncated.jpg", stream[: scan + (len(stream) - scan) // 2], "4 damaged streams", "normalize error",
        "corrupt JPEG")
    j2k = j2k_bytes(64)
    raw("stream_j2k_truncated.j2k", j2k[: len(j2k) * 2 // 3], "4 damaged streams", "error", "JPEG 2000")
    save("stream_j2k_fragment_truncated.dcm", encapsulated("1.2.826.0.4.4", JPEG2000Lossless, j2k[: len(j2k) * 2 // 3], rows_=64,
         columns=64), "4 damaged streams", "error", "JPEG 2000")
    frame = bytearray(rle_frame(gradient(32, 12)))
    damaged = dataset("1.2.826.0.4.5", syntax=RLELossless)
    damaged.PixelData = encapsulate([bytes(frame[: len(frame) * 2 // 3])])
    save("stream_rle_truncated.dcm", damaged, "4 damaged streams", "error", "RLE segment")
    lying = dataset("1.2.826.0.4.6", syntax=RLELossless, columns=24)
    lying.PixelData = encapsulate([bytes(frame)])
    save("stream_rle_columns_lie.dcm", lying, "4 damaged streams", "error", "Rows × Columns")

    with open(OUT / "expected.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["file", "class", "outcome", "reason"])
        writer.writerows(sorted(rows))


if __name__ == "__main__":
    main()
