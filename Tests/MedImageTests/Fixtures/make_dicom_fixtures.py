#!/usr/bin/env python3
"""Makes DICOM fixtures that medad's own writer cannot make, once, with pydicom and Pillow (run from this
folder; commit the outputs). Each file's expected pixels are in the matching *_pixels.png (16-bit grey, or
8-bit RGB), written from the same numpy array before encoding.

  j2k_lossless.dcm   JPEG 2000 lossless (1.2.840.10008.1.2.4.90), 12-bit unsigned 40x48, MONOCHROME2
  j2k_lossy.dcm      JPEG 2000 (1.2.840.10008.1.2.4.91), the same pixels, irreversible at 10:1
  rgb_native.dcm     explicit little endian RGB 8-bit 20x24, planar configuration 0
  multiframe.dcm     explicit little endian 16-bit 3 frames of 16x12 (frame k = base + 1000 k)
"""
import io

import numpy as np
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

rng = np.random.default_rng(11)


def dataset(path, syntax, rows, cols):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[path])
    meta.TransferSyntaxUID = syntax
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "FIXTURE^PERSON"
    ds.PatientID = "FIX-0001"
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows, cols
    return ds


y, x = np.mgrid[0:40, 0:48]
twelve = np.clip(2048 + 1200 * np.sin(x / 7.0) * np.cos(y / 5.0) + rng.normal(0, 40, x.shape), 0, 4095).astype(np.uint16)
Image.fromarray(twelve).save("j2k_pixels.png")
for name, syntax, options in (("j2k_lossless.dcm", "1.2.840.10008.1.2.4.90", dict(irreversible=False)),
                              ("j2k_lossy.dcm", "1.2.840.10008.1.2.4.91", dict(irreversible=True, quality_mode="rates", quality_layers=[10]))):
    stream = io.BytesIO()
    Image.fromarray(twelve).save(stream, format="JPEG2000", no_jp2=True, **options)
    ds = dataset(name, syntax, 40, 48)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = encapsulate([stream.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.save_as(name, enforce_file_format=True)

rgb = rng.integers(0, 256, size=(20, 24, 3), dtype=np.uint8)
Image.fromarray(rgb).save("rgb_pixels.png")
ds = dataset("rgb_native.dcm", ExplicitVRLittleEndian, 20, 24)
ds.SamplesPerPixel = 3
ds.PlanarConfiguration = 0
ds.PhotometricInterpretation = "RGB"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
ds.PixelData = rgb.tobytes()
ds.save_as("rgb_native.dcm", enforce_file_format=True)

base = rng.integers(0, 1000, size=(12, 16), dtype=np.uint16)
frames = np.stack([base + 1000 * k for k in range(3)])
Image.fromarray(frames.reshape(36, 16)).save("multiframe_pixels.png")
ds = dataset("multiframe.dcm", ExplicitVRLittleEndian, 12, 16)
ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = "MONOCHROME2"
ds.NumberOfFrames = 3
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
ds.PixelData = frames.tobytes()
ds.save_as("multiframe.dcm", enforce_file_format=True)

# Decoding cases found on real files (issue 15), each checked against pydicom's own decode (pydicom 3 with the
# pylibjpeg, pylibjpeg-openjpeg and pylibjpeg-libjpeg plugins); expected values as little-endian int16 in *.raw.
#   j2k_sign_mismatch.dcm  JPEG 2000 lossless, 13 bits stored, Pixel Representation 1, but a codestream that says
#                          unsigned 13-bit: pydicom reads the codestream's values as 13-bit two's complement
#   jpeg_extended12.dcm    JPEG extended (1.2.840.10008.1.2.4.51), 12-bit, encoded by DCMTK's dcmcjpeg +ee
import subprocess

import pydicom
from openjpeg import encode

cases = np.random.default_rng(15)
y, x = np.mgrid[0:64, 0:72]  # OpenJPEG's 6 resolution levels need 32 pixels or more a side
signed13 = np.clip(1500 * np.sin(x / 4.0) * np.cos(y / 6.0) - 800 + cases.normal(0, 30, x.shape), -4096, 4095).astype(np.int16)
codestream = encode((signed13.astype(np.int32) & 0x1FFF).astype(np.uint16), bits_stored=13, photometric_interpretation=2, use_mct=False)
ds = dataset("j2k_sign_mismatch.dcm", "1.2.840.10008.1.2.4.90", 64, 72)
ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = "MONOCHROME2"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 13, 12, 1
ds.PixelData = encapsulate([codestream])
ds["PixelData"].VR = "OB"
ds.save_as("j2k_sign_mismatch.dcm", enforce_file_format=True)
decoded = pydicom.dcmread("j2k_sign_mismatch.dcm").pixel_array
assert decoded.dtype == np.int16 and (decoded == signed13).all(), "pydicom reads the two's complement values"
decoded.astype("<i2").tofile("j2k_sign_mismatch_pixels.raw")

twelve = np.clip(2048 + 1500 * np.sin(x / 3.0) * np.cos(y / 4.0) + cases.normal(0, 50, x.shape), 0, 4095).astype(np.uint16)
ds = dataset("native12.dcm", ExplicitVRLittleEndian, 64, 72)
ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = "MONOCHROME2"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
ds.PixelData = twelve.tobytes()
ds.save_as("native12.dcm", enforce_file_format=True)
subprocess.run(["dcmcjpeg", "+ee", "+un", "native12.dcm", "jpeg_extended12.dcm"], check=True)  # +un: no new UIDs, a reproducible file
os_remove = __import__("os").remove
os_remove("native12.dcm")
decoded = pydicom.dcmread("jpeg_extended12.dcm").pixel_array
assert pydicom.dcmread("jpeg_extended12.dcm").file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.51"
decoded.astype("<i2").tofile("jpeg_extended12_pixels.raw")

# More decoding cases, expected values from pydicom's pixel_array, as raw bytes (uint8) in *_pixels.raw:
#   bits1.dcm          Bits Allocated 1 (a binary mask), 3 frames of 5x7: 35 bits a frame, so frames start
#                      inside a byte, packed as the standard says (least significant bit first)
#   ybr_full.dcm       explicit little endian YBR_FULL 8-bit 20x24 (pydicom's RGB -> YBR_FULL); expected: RGB
#   ybr_full_422.dcm   the same image as YBR_FULL_422 (two luminance samples and one Cb, Cr pair per two pixels,
#                      the pair's chrominance averaged); expected: pydicom's RGB
from pydicom.pixels import convert_color_space, pack_bits

mask = cases.integers(0, 2, size=(3, 5, 7), dtype=np.uint8)
ds = dataset("bits1.dcm", ExplicitVRLittleEndian, 5, 7)
ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = "MONOCHROME2"
ds.NumberOfFrames = 3
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
ds.PixelData = pack_bits(mask)
ds["PixelData"].VR = "OB"
ds.save_as("bits1.dcm", enforce_file_format=True)
decoded = pydicom.dcmread("bits1.dcm").pixel_array
assert (decoded == mask).all()
decoded.astype(np.uint8).tofile("bits1_pixels.raw")

rgb = cases.integers(0, 256, size=(20, 24, 3), dtype=np.uint8)
ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
ds = dataset("ybr_full.dcm", ExplicitVRLittleEndian, 20, 24)
ds.SamplesPerPixel = 3
ds.PlanarConfiguration = 0
ds.PhotometricInterpretation = "YBR_FULL"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
ds.PixelData = ybr.tobytes()
ds.save_as("ybr_full.dcm", enforce_file_format=True)
decoded = pydicom.dcmread("ybr_full.dcm").pixel_array
assert decoded.shape == (20, 24, 3)
decoded.astype(np.uint8).tofile("ybr_full_pixels.raw")

pairs = ybr.reshape(20, 12, 2, 3).astype(np.int32)
packed = np.empty((20, 12, 4), dtype=np.uint8)
packed[..., 0], packed[..., 1] = pairs[:, :, 0, 0], pairs[:, :, 1, 0]
packed[..., 2] = (pairs[:, :, 0, 1] + pairs[:, :, 1, 1] + 1) // 2
packed[..., 3] = (pairs[:, :, 0, 2] + pairs[:, :, 1, 2] + 1) // 2
ds = dataset("ybr_full_422.dcm", ExplicitVRLittleEndian, 20, 24)
ds.SamplesPerPixel = 3
ds.PlanarConfiguration = 0
ds.PhotometricInterpretation = "YBR_FULL_422"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
ds.PixelData = packed.tobytes()
ds.save_as("ybr_full_422.dcm", enforce_file_format=True)
decoded = pydicom.dcmread("ybr_full_422.dcm").pixel_array
assert decoded.shape == (20, 24, 3)
decoded.astype(np.uint8).tofile("ybr_full_422_pixels.raw")

# HTJ2K (High-Throughput JPEG 2000, 1.2.840.10008.1.2.4.201 lossless), 12-bit 64x72, encoded by OpenJPH through
# imagecodecs (PyPI), checked with pydicom's own decode; expected values as little-endian int16.
import imagecodecs

htj = np.clip(2048 + 1800 * np.cos(x / 5.0) * np.sin(y / 7.0) + cases.normal(0, 20, x.shape), 0, 4095).astype(np.uint16)
ds = dataset("htj2k_lossless.dcm", "1.2.840.10008.1.2.4.201", 64, 72)
ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = "MONOCHROME2"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
ds.PixelData = encapsulate([imagecodecs.htj2k_encode(htj)])
ds["PixelData"].VR = "OB"
ds.save_as("htj2k_lossless.dcm", enforce_file_format=True)
decoded = pydicom.dcmread("htj2k_lossless.dcm").pixel_array
assert (decoded == htj).all(), "pydicom decodes the HTJ2K stream to the source pixels"
htj.astype("<i2").tofile("htj2k_lossless_pixels.raw")
