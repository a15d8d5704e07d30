#!/usr/bin/env python3
"""Makes the normalize fixtures once, with numpy and Pillow (run from this folder; commit the outputs).

Sources: radiograph16.png (16-bit grey, 12 bits used), small8.png (8-bit grey), fundus.jpg (colour JPEG).
Expected outputs, named SOURCE_RECIPE.png, are what the Med-AD preprocessing gives with Pillow:
  mono1_64       MONOCHROME1: max - x, min-max to 8 bits (numpy, truncating), resize((64, 64), BILINEAR)
  mono2_100x80   min-max, resize((100, 80), BILINEAR)           (shrinking by a non-integer factor)
  mono2_fit64    min-max, ImageOps.fit((64, 64), BILINEAR)      (centre crop)
  mono2_pad64    min-max, ImageOps.pad((64, 64), BILINEAR)      (black bars)
  up64           small8 resized((64, 64), BILINEAR)             (enlarging; 8-bit, no scaling)
  gray48         fundus convert('L'), resize((48, 48), BILINEAR)
"""
import numpy as np
from PIL import Image, ImageOps

rng = np.random.default_rng(3)
y, x = np.mgrid[0:257, 0:300].astype(np.float64)
field = 2000 + 1500 * np.sin(x / 23.0) * np.cos(y / 31.0) + rng.normal(0, 120, size=x.shape)
radiograph = np.clip(field, 0, 4095).astype(np.uint16)
Image.fromarray(radiograph).save("radiograph16.png")

small = (rng.uniform(0, 255, size=(17, 23))).astype(np.uint8)
Image.fromarray(small).save("small8.png")

rgb = np.stack([np.clip(128 + 100 * np.sin(x[:90, :120] / (9 + 3 * c)) + rng.normal(0, 10, (90, 120)), 0, 255)
                for c in range(3)], axis=-1).astype(np.uint8)
Image.fromarray(rgb).save("fundus.jpg", quality=90)


def minmax(data):
    data = data - np.min(data)
    data = data / np.max(data)
    return Image.fromarray((data * 255).astype(np.uint8))


inverted = np.amax(radiograph) - radiograph
minmax(inverted).resize((64, 64), Image.BILINEAR).save("radiograph16_mono1_64.png")
minmax(radiograph).resize((100, 80), Image.BILINEAR).save("radiograph16_mono2_100x80.png")
ImageOps.fit(minmax(radiograph), (64, 64), Image.BILINEAR).save("radiograph16_mono2_fit64.png")
ImageOps.pad(minmax(radiograph), (64, 64), Image.BILINEAR).save("radiograph16_mono2_pad64.png")
Image.open("small8.png").resize((64, 64), Image.BILINEAR).save("small8_up64.png")
Image.open("fundus.jpg").convert("L").resize((48, 48), Image.BILINEAR).save("fundus_gray48.png")
