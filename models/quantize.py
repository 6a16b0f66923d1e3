"""Quantise one of lookalike's ONNX graphs to int8 (ONNX Runtime's static QDQ quantisation).

Calibration runs the float graph on real catalog photos, preprocessed as the app does (letterbox on
white, the manifest's mean/std), and records activation ranges (99.999th percentile); weights are int8 per output channel,
activations uint8 (the u8 x s8 path that AVX-512 VNNI and AMX accelerate in ONNX Runtime).

One file for every x86-64 CPU. Without VNNI (AVX2, AVX-512 without VNNI), ONNX Runtime multiplies
u8 x s8 with VPMADDUBSW, which adds two neighbouring products into a saturating 16-bit sum: with full
8-bit weights the embeddings drift (cosine to float 0.85 on average, 0.36 at worst). Halving every
weight's range (reduce_range) avoids that but costs accuracy (cosine 0.97). Instead, each output
channel's weight scale is enlarged only as much as its own largest pair needs: any two weights that
can meet in one 16-bit sum (neighbouring input channels for 1x1 convolutions and the classifier, any
two for the others) add up to at most 128 in magnitude, so 255 * 128 < 32768 and no sum can saturate.
The result is checked before the file is written.

Usage:
  quantize.py FLOAT.onnx OUT.onnx PHOTO_DIR [--photos 256] [--size 224] [--mean 127] [--std 128]
"""
import argparse
import os
import random
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper
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


# The largest magnitude two quantised weights may reach together: 255 * 128 = 32640 < 32767.
PAIR_LIMIT = 128


def pair_sums(w, neighbours):
    """Per output channel (rows of w): the largest same-sign sum of two weights that may share one
    16-bit sum: neighbouring columns (2j, 2j+1) when `neighbours`, else any two."""
    w = w.reshape(w.shape[0], -1).astype(np.float64)
    if neighbours:
        w = np.pad(w, ((0, 0), (0, w.shape[1] % 2))).reshape(w.shape[0], -1, 2)
        return np.maximum(np.clip(w, 0, None).sum(2).max(1), np.clip(-w, 0, None).sum(2).max(1))
    s = np.sort(w, 1)
    return np.maximum(np.clip(s[:, -2:], 0, None).sum(1), np.clip(-s[:, :2], 0, None).sum(1))


def int8_weights(model):
    """(DequantizeLinear node, the node using its output) for each int8 weight initializer."""
    inits = {i.name for i in model.graph.initializer}
    users = {}
    for n in model.graph.node:
        for x in n.input:
            users.setdefault(x, n)
    for n in model.graph.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in inits and n.output[0] in users:
            yield n, users[n.output[0]]


def pairs_are_neighbours(user, weight):
    """Whether only neighbouring input channels share a 16-bit sum: 1x1 convolutions and the
    classifier (ONNX Runtime's direct convolution and GEMM kernels take input channels in order)."""
    if user.op_type == "Conv":
        group = next((a.i for a in user.attribute if a.name == "group"), 1)
        return group == 1 and tuple(weight.shape[2:]) == (1, 1)
    return user.op_type in ("Gemm", "MatMul")


def limit_pair_sums(quantised, float_model):
    """Requantise each int8 weight from the float model's, with per-channel scales enlarged so that
    no two weights that share a 16-bit sum exceed PAIR_LIMIT together; biases follow their scales."""
    floats = {i.name: numpy_helper.to_array(i) for i in float_model.graph.initializer}
    inits = {i.name: i for i in quantised.graph.initializer}
    producer = {o: n for n in quantised.graph.node for o in n.output}
    get = lambda name: numpy_helper.to_array(inits[name])
    put = lambda name, a: inits[name].CopyFrom(numpy_helper.from_array(a, name))
    enlarged = []
    for dq, user in list(int8_weights(quantised)):
        q = get(dq.input[0])
        original = dq.input[0].removesuffix("_quantized")
        if q.dtype != np.int8 or original not in floats:
            continue
        w = floats[original].astype(np.float64).reshape(q.shape[0], -1)
        scale = get(dq.input[1]).astype(np.float64).reshape(-1)
        if scale.size != q.shape[0]:
            sys.exit(f"quantize.py: {original}: expected one weight scale per output channel")
        need = pair_sums(w, pairs_are_neighbours(user, q)) / (PAIR_LIMIT - 1)
        new_scale = np.maximum(scale, need)
        put(dq.input[0], np.clip(np.round(w / new_scale[:, None]), -127, 127).astype(np.int8).reshape(q.shape))
        put(dq.input[1], new_scale.astype(np.float32))
        bias = producer.get(user.input[2]) if len(user.input) > 2 else None
        if bias is not None and bias.op_type == "DequantizeLinear":  # int32, scale = input's * weight's
            b_scale = get(bias.input[1]).astype(np.float64)
            b_new = b_scale * new_scale / scale
            put(bias.input[0], np.round(get(bias.input[0]) * b_scale / b_new).astype(np.int32))
            put(bias.input[1], b_new.astype(np.float32))
        enlarged.append(new_scale / scale)
    return np.concatenate(enlarged) if enlarged else np.ones(0)


def check_no_saturation(model):
    """Exit if any int8 weight pair could saturate a 16-bit sum (see the module's doc)."""
    for dq, user in int8_weights(model):
        q = numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == dq.input[0]))
        if q.dtype == np.int8 and pair_sums(q, pairs_are_neighbours(user, q)).max() > PAIR_LIMIT:
            sys.exit(f"quantize.py: {dq.input[0]}: two weights exceed {PAIR_LIMIT}: u8 x s8 sums could saturate")


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
            # Activation ranges from the 99.999th percentile, not the extremes: one odd photo in a
            # catalog does not coarsen every other's (cosine to float 0.9940 vs 0.9936, min 0.957 vs 0.953).
            calibrate_method=CalibrationMethod.Percentile, extra_options={"CalibPercentile": 99.999},
        )
    quantised = onnx.load(a.out + ".part")
    enlarged = limit_pair_sums(quantised, onnx.load(a.model))
    check_no_saturation(quantised)
    onnx.save(quantised, a.out + ".part")
    os.replace(a.out + ".part", a.out)
    print(f"quantize.py: {a.out} calibrated on {len(paths)} photos from {a.photos}; weight scales of "
          f"{np.mean(enlarged > 1.0001):.0%} of channels enlarged (mean x{enlarged.mean():.2f}) so that no "
          f"16-bit sum can saturate", file=sys.stderr)


if __name__ == "__main__":
    main()
