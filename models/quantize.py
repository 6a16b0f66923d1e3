"""Quantise one of lookalike's ONNX graphs to int8 (ONNX Runtime's static QDQ quantisation).

Calibration runs the float graph on real catalog photos, preprocessed as the app does (letterbox on
white, the manifest's mean/std), and records activation ranges; weights are int8 per output channel,
activations uint8 (the u8 x s8 path that AVX-512 VNNI and AMX accelerate in ONNX Runtime).

Usage:
  quantize.py FLOAT.onnx OUT.onnx PHOTO_DIR [--photos 256] [--size 224] [--mean 127] [--std 128]
"""
import argparse
import os
import random
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

PHOTO_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def letterbox(path, size, mean, std):
    """The app's default preprocessing: fit inside size x size on white, normalise, NCHW."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        scale = size / max(im.size)
        w, h = max(1, round(im.width * scale)), max(1, round(im.height * scale))
        im = im.resize((w, h), Image.Resampling.BILINEAR)
        canvas = Image.new("RGB", (size, size), (255, 255, 255))
        canvas.paste(im, ((size - w) // 2, (size - h) // 2))
    x = (np.asarray(canvas, dtype=np.float32) - mean) / std
    return x.transpose(2, 0, 1)[None]


class Photos(CalibrationDataReader):
    def __init__(self, paths, input_name, size, mean, std):
        self.items = iter(paths)
        self.input_name, self.size, self.mean, self.std = input_name, size, mean, std

    def get_next(self):
        for path in self.items:
            try:
                return {self.input_name: letterbox(path, self.size, self.mean, self.std)}
            except OSError as e:  # a broken photo in the catalog: skip it, calibrate on the rest
                print(f"quantize.py: skipping {path}: {e}", file=sys.stderr)
        return None


def photos_under(folder):
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [os.path.join(root, f) for f in files
                  if os.path.splitext(f)[1].lower() in PHOTO_EXTENSIONS and not f.startswith(".")]
    return sorted(found)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("photos", help="folder of catalog photos for calibration")
    p.add_argument("--photos", dest="count", type=int, default=256)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--mean", type=float, default=127.0)
    p.add_argument("--std", type=float, default=128.0)
    p.add_argument("--input-name", default="image")
    a = p.parse_args()

    paths = photos_under(a.photos)
    if not paths:
        sys.exit(f"quantize.py: no photos under {a.photos}: calibration needs catalog photos")
    random.Random(0).shuffle(paths)
    paths = paths[: a.count]

    with tempfile.TemporaryDirectory() as tmp:
        prepared = os.path.join(tmp, "prepared.onnx")
        quant_pre_process(a.model, prepared, skip_symbolic_shape=True)
        quantize_static(
            prepared, a.out + ".part", Photos(paths, a.input_name, a.size, a.mean, a.std),
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    os.replace(a.out + ".part", a.out)
    print(f"quantize.py: {a.out} calibrated on {len(paths)} photos from {a.photos}", file=sys.stderr)


if __name__ == "__main__":
    main()
