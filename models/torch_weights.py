"""Read PyTorch checkpoints (.pth) into numpy arrays without torch.

Supports the legacy pickle format (torch < 1.6, `_use_new_zipfile_serialization=False`)
and the zip format (torch >= 1.6). Only what state_dicts of plain float tensors need.
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name):
        self.dtype = np.dtype(_DTYPES[name])


class _LazyTensor:
    """A tensor whose storage bytes are filled in after the main pickle is read (legacy format)."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self):
        flat = self.storage["data"]
        if flat is None:
            raise ValueError("storage data missing from checkpoint")
        item = flat.itemsize
        return np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * item for s in self.stride]
        ).copy()


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_rest):
    return _LazyTensor(storage, storage_offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storages, load_storage=None):
        super().__init__(f, encoding="latin1")
        self.storages = storages
        self.load_storage = load_storage

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_parameter":
            return lambda data, *_: data
        raise pickle.UnpicklingError(f"unsupported class in checkpoint: {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        _, storage_type, key, _location, numel = pid[:5]
        if key not in self.storages:
            st = {"dtype": storage_type.dtype, "numel": numel, "data": None}
            if self.load_storage is not None:
                st["data"] = self.load_storage(key, storage_type.dtype)
            self.storages[key] = st
        return self.storages[key]


def _load_legacy(f):
    magic = pickle.load(f, encoding="latin1")
    if magic != 0x1950A86A20F9469CFC6C:
        raise ValueError("not a PyTorch legacy checkpoint")
    pickle.load(f, encoding="latin1")  # protocol version
    pickle.load(f, encoding="latin1")  # sys info
    storages = {}
    obj = _Unpickler(f, storages).load()
    keys = pickle.load(f, encoding="latin1")
    for key in keys:
        (numel,) = struct.unpack("<q", f.read(8))
        st = storages[key]
        st["data"] = np.frombuffer(f.read(numel * st["dtype"].itemsize), dtype=st["dtype"])
    return obj


def _load_zip(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = next(n for n in names if n.endswith("/data.pkl"))
        prefix = pkl[: -len("data.pkl")]

        def load_storage(key, dtype):
            return np.frombuffer(z.read(f"{prefix}data/{key}"), dtype=dtype)

        return _Unpickler(io.BytesIO(z.read(pkl)), {}, load_storage).load()


def load_state_dict(path):
    """Return an ordered dict name -> numpy array."""
    if zipfile.is_zipfile(path):
        obj = _load_zip(path)
    else:
        with open(path, "rb") as f:
            obj = _load_legacy(f)
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    return collections.OrderedDict(
        (k, v.array() if isinstance(v, _LazyTensor) else np.asarray(v)) for k, v in obj.items()
    )


if __name__ == "__main__":
    import sys

    for k, v in load_state_dict(sys.argv[1]).items():
        print(k, v.shape, v.dtype)
