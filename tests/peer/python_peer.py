"""The usual Python way, as a benchmark peer for lookalike (issue 7).

What the seed report and the many Streamlit "fashion recommender" demos do: PIL decodes each
photo, the CNN runs on one photo at a time, scikit-learn's brute-force NearestNeighbors answers
queries. Same ONNX model, same photos, same preprocessing (letterbox on white, (x - 127) / 128),
so the figures compare the ways, not the models.

    python python_peer.py MODEL.onnx PHOTO_FOLDER [--queries 50] [--scale 70000]

Prints JSON: indexing images/s, query latency (median, p95) at the catalog's size and at --scale rows.
"""

import argparse
import glob
import json
import os
import statistics
import time

import numpy as np
import onnxruntime as ort
from PIL import Image
from sklearn.neighbors import NearestNeighbors


def load(path, size=224):
    img = Image.open(path).convert("RGB")
    scale = size / max(img.size)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    img = img.resize((w, h), Image.BILINEAR)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(img, ((size - w) // 2, (size - h) // 2))
    x = (np.asarray(canvas, dtype=np.float32) - 127.0) / 128.0
    return x.transpose(2, 0, 1)[None]


def embed(session, path):
    fmap = session.run(["feature_map"], {"image": load(path)})[0]
    v = fmap.mean(axis=(2, 3))[0]
    return v / np.linalg.norm(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("photos")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--scale", type=int, default=70000)
    ap.add_argument("-k", type=int, default=12)
    a = ap.parse_args()

    paths = sorted(glob.glob(os.path.join(a.photos, "*.jpg")) + glob.glob(os.path.join(a.photos, "*.png")))
    session = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    embed(session, paths[0])  # warm-up

    t = time.perf_counter()
    vectors = np.stack([embed(session, p) for p in paths])
    index_rate = len(paths) / (time.perf_counter() - t)

    def latencies(matrix):
        nn = NearestNeighbors(n_neighbors=a.k + 1, metric="cosine", algorithm="brute").fit(matrix)
        out = []
        for p in paths[: a.queries]:
            t = time.perf_counter()
            q = embed(session, p)
            nn.kneighbors(q[None], return_distance=True)
            out.append((time.perf_counter() - t) * 1e3)
        out.sort()
        return statistics.median(out), out[int(round((len(out) - 1) * 0.95))]

    med, p95 = latencies(vectors)
    rng = np.random.default_rng(7)
    reps = -(-a.scale // len(vectors))
    big = np.tile(vectors, (reps, 1))[: a.scale]
    big = big + rng.normal(0, 0.01, big.shape).astype(np.float32)
    big /= np.linalg.norm(big, axis=1, keepdims=True)
    med_big, p95_big = latencies(big)
    print(json.dumps({
        "photos": len(paths), "index_images_per_s": index_rate,
        "query_ms_median": med, "query_ms_p95": p95,
        "scale": a.scale, "query_ms_median_at_scale": med_big, "query_ms_p95_at_scale": p95_big,
    }))


if __name__ == "__main__":
    main()
