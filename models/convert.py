"""Turn ImageNet CNN checkpoints into lookalike's ONNX graphs, with numpy + onnx only (no torch).

Every graph has one input and three outputs:
  image        [N, 3, H, W] float32, already normalised by the app (mean/std in the model's manifest)
  feature_map  [N, C, h, w] the last convolutional feature map; the app pools it (avg, max or GeM)
  embedding    [N, C]       global average pooling of feature_map (what the classifier sees)
  logits       [N, 1000]    ImageNet class scores, used to prove the weights are real

Usage:
  convert.py efficientnet-lite0 CHECKPOINT.pth OUT.onnx     (also efficientnet-lite1, efficientnet-lite2)
  convert.py resnet50 CHECKPOINT.pth OUT.onnx
  convert.py resnet50 --random OUT.onnx     (random weights: shape and speed tests only)
"""
import argparse
import hashlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from torch_weights import load_state_dict


class Graph:
    """A small ONNX graph builder that folds BatchNorm into the preceding convolution."""

    def __init__(self, weights):
        self.w = weights
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base, array):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, inputs, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def conv_bn(self, x, conv, bn, stride=1, groups=1, pad="same", eps=1e-5):
        w = self.w[f"{conv}.weight"].astype(np.float32)
        gamma, beta = self.w[f"{bn}.weight"], self.w[f"{bn}.bias"]
        mean, var = self.w[f"{bn}.running_mean"], self.w[f"{bn}.running_var"]
        scale = gamma / np.sqrt(var + eps)
        w = w * scale[:, None, None, None]
        b = beta - mean * scale
        k = w.shape[2]
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], group=groups)
        if pad == "same":
            # TensorFlow's SAME padding (extra row/column at the end), which the TF-trained weights expect.
            attrs["auto_pad"] = "SAME_UPPER"
        else:
            attrs["pads"] = [pad] * 4
        return self.op("Conv", [x, self.const("w", w), self.const("b", b.astype(np.float32))], **attrs)

    def relu6(self, x):
        return self.op("Clip", [x, self.const("lo", np.array(0, np.float32)), self.const("hi", np.array(6, np.float32))])

    def head(self, features, fc):
        pooled = self.op("GlobalAveragePool", [features])
        emb = self.op("Flatten", [pooled], axis=1)
        w, b = self.w[f"{fc}.weight"].astype(np.float32), self.w[f"{fc}.bias"].astype(np.float32)
        logits = self.op("Gemm", [emb, self.const("fc_w", w), self.const("fc_b", b)], transB=1)
        return emb, logits

    def model(self, features, emb, logits, channels, size, doc):
        self.nodes += [
            helper.make_node("Identity", [features], ["feature_map"]),
            helper.make_node("Identity", [emb], ["embedding"]),
            helper.make_node("Identity", [logits], ["logits"]),
        ]
        inp = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])
        outs = [
            helper.make_tensor_value_info("feature_map", TensorProto.FLOAT, ["N", channels, "h", "w"]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", channels]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000]),
        ]
        graph = helper.make_graph(self.nodes, "lookalike", [inp], outs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lookalike")
        m.ir_version = 8
        m.doc_string = doc
        onnx.checker.check_model(m)
        return m


# EfficientNet-Lite strides per stage (B0's seven stages; Lite1 and Lite2 repeat blocks more often
# and Lite2 is wider, but the stages and their strides are the same).
EFFNET_STAGE_STRIDES = [1, 2, 2, 2, 1, 2, 1]
# Input size each variant was trained at.
EFFNET_LITE_SIZES = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}


def efficientnet_lite_blocks(weights):
    """The blocks of an EfficientNet-Lite checkpoint, read off its weights: (kernel, stride, expands,
    cin, cout) each. A stage starts where the output width changes (every stage has its own)."""
    blocks, i, stage, prev_out = [], 0, -1, None
    cin = weights["_conv_stem.weight"].shape[0]
    while f"_blocks.{i}._depthwise_conv.weight" in weights:
        p = f"_blocks.{i}"
        k = weights[f"{p}._depthwise_conv.weight"].shape[2]
        cout = weights[f"{p}._project_conv.weight"].shape[0]
        first = cout != prev_out
        if first:
            stage += 1
        stride = EFFNET_STAGE_STRIDES[stage] if first else 1
        blocks.append((k, stride, f"{p}._expand_conv.weight" in weights, cin, cout))
        prev_out, cin, i = cout, cout, i + 1
    if stage != len(EFFNET_STAGE_STRIDES) - 1:
        sys.exit(f"the checkpoint has {stage + 1} stages, EfficientNet-Lite has {len(EFFNET_STAGE_STRIDES)}")
    return blocks


def efficientnet_lite(weights, arch):
    g = Graph(weights)
    eps = 1e-3
    x = g.relu6(g.conv_bn("image", "_conv_stem", "_bn0", stride=2, eps=eps))
    for i, (k, stride, expands, cin, cout) in enumerate(efficientnet_lite_blocks(weights)):
        p = f"_blocks.{i}"
        h = x
        if expands:
            h = g.relu6(g.conv_bn(h, f"{p}._expand_conv", f"{p}._bn0", eps=eps))
        mid = weights[f"{p}._depthwise_conv.weight"].shape[0]
        h = g.relu6(g.conv_bn(h, f"{p}._depthwise_conv", f"{p}._bn1", stride=stride, groups=mid, eps=eps))
        h = g.conv_bn(h, f"{p}._project_conv", f"{p}._bn2", eps=eps)
        if stride == 1 and cin == cout:
            h = g.op("Add", [h, x])
        x = h
    feats = g.relu6(g.conv_bn(x, "_conv_head", "_bn1", eps=eps))
    channels = weights["_conv_head.weight"].shape[0]
    emb, logits = g.head(feats, "_fc")
    size = EFFNET_LITE_SIZES[arch]
    title = "EfficientNet-Lite" + arch[-1]
    return g.model(feats, emb, logits, channels, size, f"{title}, ImageNet weights")


def resnet50(weights, doc):
    g = Graph(weights)
    x = g.op("Relu", [g.conv_bn("image", "conv1", "bn1", stride=2, pad=3)])
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for layer, blocks in zip(range(1, 5), [3, 4, 6, 3]):
        for b in range(blocks):
            p = f"layer{layer}.{b}"
            stride = 2 if (b == 0 and layer > 1) else 1
            h = g.op("Relu", [g.conv_bn(x, f"{p}.conv1", f"{p}.bn1", pad=0)])
            h = g.op("Relu", [g.conv_bn(h, f"{p}.conv2", f"{p}.bn2", stride=stride, pad=1)])
            h = g.conv_bn(h, f"{p}.conv3", f"{p}.bn3", pad=0)
            short = x
            if f"{p}.downsample.0.weight" in weights:
                short = g.conv_bn(x, f"{p}.downsample.0", f"{p}.downsample.1", stride=stride, pad=0)
            x = g.op("Relu", [g.op("Add", [h, short])])
    emb, logits = g.head(x, "fc")
    return g.model(x, emb, logits, 2048, 224, doc)


def random_resnet50_weights(seed=0):
    """He-initialised weights with ResNet-50's shapes; the graph is real, the weights are not."""
    rng = np.random.default_rng(seed)
    w = {}

    def conv(name, cout, cin, k):
        w[f"{name}.weight"] = (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2 / (cin * k * k))).astype(np.float32)

    def bn(name, c):
        w[f"{name}.weight"], w[f"{name}.bias"] = np.ones(c, np.float32), np.zeros(c, np.float32)
        w[f"{name}.running_mean"], w[f"{name}.running_var"] = np.zeros(c, np.float32), np.ones(c, np.float32)

    conv("conv1", 64, 3, 7), bn("bn1", 64)
    cin = 64
    for layer, (blocks, width) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512]), start=1):
        for b in range(blocks):
            p = f"layer{layer}.{b}"
            conv(f"{p}.conv1", width, cin, 1), bn(f"{p}.bn1", width)
            conv(f"{p}.conv2", width, width, 3), bn(f"{p}.bn2", width)
            conv(f"{p}.conv3", width * 4, width, 1), bn(f"{p}.bn3", width * 4)
            if b == 0:
                conv(f"{p}.downsample.0", width * 4, cin, 1), bn(f"{p}.downsample.1", width * 4)
            cin = width * 4
    w["fc.weight"] = (rng.standard_normal((1000, 2048)) * 0.01).astype(np.float32)
    w["fc.bias"] = np.zeros(1000, np.float32)
    return w


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arch", choices=[*EFFNET_LITE_SIZES, "resnet50"])
    ap.add_argument("checkpoint", nargs="?")
    ap.add_argument("out")
    ap.add_argument("--random", action="store_true", help="random ResNet-50 weights (never a real model)")
    a = ap.parse_args()
    if a.random:
        if a.arch != "resnet50":
            sys.exit("--random is only for resnet50")
        model = resnet50(random_resnet50_weights(), "ResNet-50 graph with RANDOM weights: shape and speed tests only")
    else:
        if not a.checkpoint:
            sys.exit("a checkpoint path is needed (or --random for resnet50)")
        digest = sha256(a.checkpoint)
        # torchvision and the wheel name files by the start of their SHA-256: check it when present.
        stem = a.checkpoint.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        tag = stem.rsplit("-", 1)[-1]
        if len(tag) == 8 and all(c in "0123456789abcdef" for c in tag) and not digest.startswith(tag):
            sys.exit(f"{a.checkpoint}: SHA-256 {digest[:16]}... does not match the name's {tag}: corrupt download?")
        weights = load_state_dict(a.checkpoint)
        if a.arch in EFFNET_LITE_SIZES:
            model = efficientnet_lite(weights, a.arch)
        else:
            model = resnet50(weights, f"ResNet-50, torchvision ImageNet weights ({stem})")
    onnx.save(model, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
