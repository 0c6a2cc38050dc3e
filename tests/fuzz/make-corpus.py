#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/ (committed).

Python's standard library only: tiny, valid files of each format (and a few
near misses), so the fuzzer starts from inputs that reach deep into each
parser. The model-load corpus also copies a checkpoint that Convolve's own
writer made (tests/fixtures/checkpoint-v1.safetensors).

usage: make-corpus.py [OUTPUT-DIR]   (default: the corpus folder beside this script)

SPDX-License-Identifier: GPL-3.0-or-later
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import struct
import sys
import tarfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SEPARATOR = b"\n--convolve-fuzz-next-file--\n"  # CONVOLVE_FUZZ_SEPARATOR


def write(out, target, name, data):
    folder = os.path.join(out, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- json

JSON_SEEDS = {
    "empty-object": b"{}",
    "header": json.dumps({
        "__metadata__": {"format": "convolve-model", "spec": "flatten,dense(2,softmax)"},
        "dense/kernel": {"dtype": "F32", "shape": [4, 2], "data_offsets": [0, 32]},
    }).encode(),
    "scalars": b'[null,true,false,0,-1,1.5e3,18446744073709551615,"x"]',
    "escapes": b'{"a\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/":"\\b\\f\\r"}',
    "nested": b'[[[[{"a":[{}]}]]]]',
    "utf8": '{"ключ":"значение","名":"値"}'.encode(),
}

# ---------------------------------------------------------------- model spec

SPEC_SEEDS = {
    "tutorial": b"conv2d(32,3,same,relu),batchnorm,maxpool(2),flatten,dense(1024,relu),dropout(0.2),dense(10,softmax)",
    "small": b"flatten,dense(2,softmax)",
    "valid-padding": b"conv2d(4,5,valid,linear),relu,maxpool(3),flatten,dense(3)",
    "spaces": b" conv2d( 8 , 3 , same , relu ) , flatten , dense( 10 , softmax ) ",
    "globalavgpool": b"conv2d(8,3,same,relu),batchnorm,globalavgpool,dense(10,softmax)",
}

# ---------------------------------------------------------------- safetensors


def safetensors(metadata, tensors):
    """tensors: list of (name, shape, float values)."""
    header = {"__metadata__": metadata}
    blob = b""
    for name, shape, values in tensors:
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + blob


RNG = "2d55c5957916c96abb7eeb525f96ce3a9b9378ea5eaa59ef1474b457d317498d"  # as convolve_rng_to_string writes


def tiny_model(**extra):
    metadata = {
        "format": "convolve-model", "format_version": "1", "generator": "make-corpus.py",
        "spec": "flatten,dense(2,softmax)", "input_shape": "[1,2,2]",
        "class_names": '["a","b"]', "dataset": "seed",
        "input_scale": "0.00392156886", "input_offset": "0", "epoch": "1", "step": "2", "rng": RNG,
    }
    metadata.update(extra)
    return safetensors(metadata, [
        ("dense/kernel", [4, 2], [0.5, -0.25, 0.125, 1.0, -1.0, 2.0, 0.0, 0.75]),
        ("dense/bias", [2], [0.1, -0.1]),
    ])


def bn_model():
    metadata = {
        "format": "convolve-model", "format_version": "1",
        "spec": "conv2d(1,1,same,relu),batchnorm,maxpool(2),flatten,dropout(0.5),dense(2,softmax)",
        "input_shape": "[1,2,2]", "input_scale": "1", "input_offset": "0",
        "epoch": "0", "step": "0", "rng": RNG,
        "optimizer": "adam", "optimizer.learning_rate": "0.001", "optimizer.beta_1": "0.9",
        "optimizer.beta_2": "0.999", "optimizer.epsilon": "1e-07", "optimizer.momentum": "0",
        "optimizer.nesterov": "false", "optimizer.iterations": "0",
    }
    trainable = [
        ("conv2d/kernel", [1, 1, 1, 1], [1.0]),
        ("conv2d/bias", [1], [0.0]),
        ("batch_normalization/gamma", [1], [1.0]),
        ("batch_normalization/beta", [1], [0.0]),
        ("dense/kernel", [1, 2], [1.0, -1.0]),
        ("dense/bias", [2], [0.0, 0.0]),
    ]
    state = [
        ("batch_normalization/moving_mean", [1], [0.0]),
        ("batch_normalization/moving_variance", [1], [1.0]),
    ]
    slots = [("optimizer/%s/%s" % (slot, name), shape, [0.01] * len(values))
             for slot in ("m", "v") for name, shape, values in trainable]
    return safetensors(metadata, trainable + state + slots)

# ---------------------------------------------------------------- pickles


def p_short(text):
    return b"U" + bytes([len(text)]) + text


def p_unicode(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def p_int(v):
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)
    return b"J" + struct.pack("<i", v)


def p_ndarray(rows, columns, payload, python3=False):
    """numpy.core.multiarray._reconstruct + BUILD, as numpy pickles a uint8 array."""
    out = b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + p_int(0) + b"\x85" + p_short(b"b") + b"\x87R"
    out += b"(" + p_int(1) + p_int(rows) + p_int(columns) + b"\x86"
    out += b"cnumpy\ndtype\n" + p_short(b"u1") + b"\x89\x88\x87R"
    out += b"(" + p_int(3) + p_short(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    out += b"\x89"
    if python3:
        out += b"c_codecs\nencode\n" + p_unicode(payload.decode("latin1")) + p_short(b"latin1") + b"\x86R"
    else:
        out += b"T" + struct.pack("<I", len(payload)) + payload
    out += b"tb"
    return out


def cifar_batch_pickle(n, python3=False):
    pixels = bytes((i * 7) % 256 for i in range(n * 3072))
    out = b"\x80\x02}q\x00("
    out += p_short(b"batch_label") + p_short(b"training batch 1 of 5")
    out += p_short(b"labels") + b"]q\x01(" + b"".join(p_int(i % 10) for i in range(n)) + b"e"
    out += p_short(b"data") + p_ndarray(n, 3072, pixels, python3)
    out += p_short(b"filenames") + b"]" + b"(" + b"".join(p_short(b"f%d.png" % i) for i in range(n)) + b"e"
    out += b"u."
    return out


def cifar_meta_pickle():
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    out = b"\x80\x02}q\x00(" + p_short(b"num_cases_per_batch") + p_int(10000)
    out += p_short(b"label_names") + b"]q\x01(" + b"".join(p_short(n) for n in names) + b"e"
    out += p_short(b"num_vis") + p_int(3072) + b"u."
    return out


PICKLE_SEEDS = {
    "scalars": b"\x80\x02(N\x88\x89K\x01M\x00\x01J\xff\xff\xff\xff\x8a\x02\x00\x80" + p_short(b"s") + p_unicode("é") + b"t.",
    "memo": b"\x80\x02]q\x01(K\x01h\x01e.",
    "dict": b"\x80\x02}(" + p_short(b"a") + b"K\x01" + p_unicode("b") + b")u.",
    "ndarray": b"\x80\x02" + p_ndarray(2, 3, b"\x01\x02\x03\x04\xff\x00") + b".",
    "ndarray-py3": b"\x80\x02" + p_ndarray(2, 3, b"\x01\x02\x03\x04\xff\x00", python3=True) + b".",
    "binbytes": b"\x80\x03C\x03abcB\x02\x00\x00\x00xy\x86.",
}

# ---------------------------------------------------------------- IDX


def idx_images(n, h, w):
    return struct.pack(">BBBBIII", 0, 0, 8, 3, n, h, w) + bytes((i * 37) % 256 for i in range(n * h * w))


def idx_labels(n):
    return struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(i % 10 for i in range(n))

# ---------------------------------------------------------------- images


def png(width, height, colour_type, rows):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bmp(width, height):
    row = bytes([0, 0, 255] * width)
    row += b"\x00" * (-len(row) % 4)
    pixels = row * height
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


def gif(width, height):
    out = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0)
    out += b"\x00\x00\x00\xff\xff\xff"  # two colours
    out += b"," + struct.pack("<HHHHB", 0, 0, width, height, 0)
    out += b"\x02\x02\x44\x01\x00;"  # LZW min code 2, one tiny data block
    return out


def ppm(width, height):
    return b"P6\n%d %d\n255\n" % (width, height) + bytes(range(3 * width * height))

def image_cache(channels, side, n_files, kept):
    """An image folder cache (convolve-image-folder-private.h)."""
    out = b"CVIMGC\x00\x01" + struct.pack("<IIII", channels, side, n_files, len(kept))
    out += bytes(range(32))  # the fingerprint
    out += b"".join(struct.pack("<I", k) for k in kept)
    out += bytes((i * 7) % 256 for i in range(len(kept) * channels * side * side))
    return out + hashlib.sha256(out).digest()


def folder_file(place, data):
    """One file of an image-folder input: its place byte, then its bytes."""
    return bytes([place]) + data

# ---------------------------------------------------------------- tar


def cifar_archive(records=1, compress=True, extra=None):
    buffer = io.BytesIO()
    mode = "w:gz" if compress else "w"
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.GNU_FORMAT) as tar:
        def add(name, data, kind=tarfile.REGTYPE):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
        add("cifar-10-batches-bin", b"", tarfile.DIRTYPE)
        batch = b"".join(bytes([i % 10]) + bytes(3072) for i in range(records))
        for name in ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                     "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"]:
            add("cifar-10-batches-bin/" + name, batch)
        add("cifar-10-batches-bin/batches.meta.txt",
            b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")
        add("cifar-10-batches-bin/readme.html", b"<html></html>\n")
        for item in extra or []:
            add(*item)
    return buffer.getvalue()


# ---------------------------------------------------------------- run-store
# SQL run against a store holding one recorded run (fuzz-run-store.c), and
# two database files: a newer schema's, and one whose tables are views.

RUN_STORE_SQL = {
    "bad-values": b"UPDATE runs SET name = X'C328414200', learning_rate = 1e300, epochs = -5,"
                  b" n_train = -1, batch_size = 'many', model_spec = X'FF', best_epoch = 99;",
    "bad-epochs": b"INSERT INTO epochs VALUES (1, 7, 1, 'x', NULL, 1e999, -1e999, 0);"
                  b"INSERT OR REPLACE INTO epochs VALUES (1, 1, 5, NULL, NULL, NULL, NULL, NULL);",
    "many-steps": b"WITH RECURSIVE n(i) AS (SELECT 5 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
                  b" INSERT INTO steps SELECT 1, i, i / 10, i % 10, 1.0 / i, 0.5 FROM n;",
    "endless-view": b"DROP TABLE epochs; CREATE VIEW epochs AS WITH RECURSIVE r(x) AS"
                    b" (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT 1 AS run_id, x AS epoch,"
                    b" 0 AS augmented, 0.0 AS loss, 0.0 AS accuracy, 0.0 AS val_loss,"
                    b" 0.0 AS val_accuracy, 0.0 AS seconds FROM r;",
    "trigger": b"CREATE TRIGGER t AFTER UPDATE ON runs BEGIN DELETE FROM steps; END;",
    "left-running": b"UPDATE runs SET status = 'running', owner_pid = 1, ended_at = NULL;",
    "older-version": b"PRAGMA user_version = 0;",
    "early-stopping": b"UPDATE runs SET early_stopping_patience = -3, early_stopping_min_delta = 'x',"
                      b" restore_best_weights = 7; INSERT INTO runs (id, created_at, epochs, augment_epochs,"
                      b" batch_size, optimizer, learning_rate, seed, threads, train_limit, eval_batch_size,"
                      b" snapshot_every_steps, progress_interval_ms, width_shift_range, height_shift_range,"
                      b" horizontal_flip, early_stopping_monitor, early_stopping_patience,"
                      b" early_stopping_min_delta, restore_best_weights) VALUES (3, 0, 4, 0, 16, 'adam',"
                      b" 0.001, 2, 1, 0, 32, 0, 100, 0, 0, 0, 'val_accuracy', 9999999999, 1e999, NULL);"
                      b"PRAGMA user_version = 1;",
    "second-run": b"INSERT INTO runs (id, created_at, epochs, augment_epochs, batch_size, optimizer,"
                  b" learning_rate, seed, threads, train_limit, eval_batch_size, snapshot_every_steps,"
                  b" progress_interval_ms, width_shift_range, height_shift_range, horizontal_flip,"
                  b" name, dataset_name) VALUES (2, 0, 1, 0, 32, 'sgd', 0.01, 1, 1, 0, 64, 0, 100,"
                  b" 0.1, 0.1, 1, 'other', NULL);",
    "nothing": b"",
}


def sqlite_file(statements):
    """A small database file made by Python's sqlite3 (1 KiB pages)."""
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "runs.sqlite")
        db = sqlite3.connect(path)
        db.execute("PRAGMA page_size = 1024")
        db.executescript(statements)
        db.commit()
        db.close()
        with open(path, "rb") as f:
            return f.read()


# ---------------------------------------------------------------- onnx-export

ONNX_KINDS = {"conv2d": 0, "batchnorm": 1, "maxpool": 2, "flatten": 3, "dense": 4, "dropout": 5, "relu": 6,
              "globalavgpool": 7}


def onnx_export_seed(c, h, w, layers, softmax, weights):
    """fuzz-onnx-export.c's input: shape, layer count (bit 4: softmax on the
    last dense layer), two bytes per layer, then float32 weights. layers are
    (kind, units, kernel, valid, relu) tuples."""
    count = next(b for b in range(256) if 1 + b % 10 == len(layers) and (b >> 4) & 1 == softmax)
    out = bytes([c - 1, h - 1, w - 1, count])
    for kind, units, kernel, valid, relu in layers:
        arg = next(a for a in range(256) if 1 + a % 12 == units and 1 + (a >> 4) % 4 == kernel)
        out += bytes([ONNX_KINDS[kind] | (8 if valid else 0) | (16 if relu else 0), arg])
    return out + struct.pack("<%df" % len(weights), *weights)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    if os.path.isdir(out):
        shutil.rmtree(out)

    for name, data in JSON_SEEDS.items():
        write(out, "json", name + ".json", data)
    for name, data in SPEC_SEEDS.items():
        write(out, "model-spec", name + ".txt", data)

    write(out, "model-load", "tiny.safetensors", tiny_model())
    write(out, "model-load", "batchnorm.safetensors", bn_model())
    write(out, "model-load", "header-only.safetensors", struct.pack("<Q", 2) + b"{}")
    shutil.copy(os.path.join(HERE, "..", "fixtures", "checkpoint-v1.safetensors"),
                os.path.join(out, "model-load", "checkpoint-v1.safetensors"))

    for name, data in PICKLE_SEEDS.items():
        write(out, "pickle", name + ".pickle", data)
    write(out, "pickle", "cifar-batch.pickle", cifar_batch_pickle(1))
    write(out, "pickle", "cifar-meta.pickle", cifar_meta_pickle())

    meta = b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n"
    record = lambda label: bytes([label]) + bytes((i * 3) % 256 for i in range(3072))
    write(out, "cifar10-binary", "one-record", record(3))
    write(out, "cifar10-binary", "with-meta-and-test", record(1) + record(9) + SEPARATOR + meta + SEPARATOR + record(0))

    write(out, "cifar10-python", "batch-only", cifar_batch_pickle(1))
    write(out, "cifar10-python", "batch-meta-test",
          cifar_batch_pickle(2) + SEPARATOR + cifar_meta_pickle() + SEPARATOR + cifar_batch_pickle(1, python3=True))

    write(out, "idx", "train", idx_images(2, 3, 2) + SEPARATOR + idx_labels(2))
    write(out, "idx", "train-test", idx_images(2, 2, 2) + SEPARATOR + idx_labels(2) + SEPARATOR +
          idx_images(1, 2, 2) + SEPARATOR + idx_labels(1))
    write(out, "idx", "gzip", gzip.compress(idx_images(2, 2, 3), mtime=0) + SEPARATOR +
          gzip.compress(idx_labels(2), mtime=0))
    write(out, "idx-gzip", "train", idx_images(3, 2, 2) + SEPARATOR + idx_labels(3))
    write(out, "idx-gzip", "square", idx_images(1, 4, 4) + SEPARATOR + idx_labels(1))

    write(out, "image", "rgb.png", png(3, 2, 2, [bytes(range(9)), bytes(range(9, 18))]))
    write(out, "image", "grey.png", png(2, 2, 0, [b"\x00\xff", b"\x80\x40"]))
    write(out, "image", "rgba.png", png(1, 1, 6, [b"\xff\x00\x00\x80"]))
    write(out, "image", "red.bmp", bmp(2, 2))
    write(out, "image", "dot.gif", gif(1, 1))
    write(out, "image", "ramp.ppm", ppm(2, 2))

    red = png(3, 2, 2, [bytes([255, 0, 0] * 3)] * 2)
    grey = png(2, 2, 0, [b"\x00\xff", b"\x80\x40"])
    write(out, "image-folder", "flat", SEPARATOR.join([
        folder_file(0, red), folder_file(1, grey), folder_file(1, bmp(2, 2)), folder_file(4, gif(1, 1))]))
    write(out, "image-folder", "train-test", SEPARATOR.join([
        folder_file(8, red), folder_file(9, grey), folder_file(12, gif(1, 1)), folder_file(13, bmp(2, 2))]))
    write(out, "image-folder", "one-class", folder_file(0, red) + SEPARATOR + folder_file(4, b"not a picture"))

    write(out, "image-cache", "rgb", image_cache(3, 2, 3, [0, 2]))
    write(out, "image-cache", "grey", image_cache(1, 4, 1, [0]))
    write(out, "image-cache", "empty", image_cache(3, 32, 5, []))
    write(out, "onnx-export", "tutorial", onnx_export_seed(
        3, 8, 8, [("conv2d", 4, 3, False, True), ("batchnorm", 1, 1, False, False), ("maxpool", 1, 2, False, False),
                  ("flatten", 1, 1, False, False), ("dense", 8, 1, False, True), ("dropout", 3, 1, False, False),
                  ("dense", 3, 1, False, False)], 1, [0.25, -0.5, 1.5, 0.125, -2.0, 0.75]))
    write(out, "onnx-export", "every-kind", onnx_export_seed(
        1, 7, 9, [("conv2d", 3, 2, True, False), ("relu", 1, 1, False, False), ("conv2d", 2, 4, False, True),
                  ("maxpool", 1, 3, False, False), ("flatten", 1, 1, False, False), ("dense", 5, 1, False, False),
                  ("batchnorm", 1, 1, False, False), ("dense", 2, 1, False, True)], 0, [1.0, -0.25, 3.0]))
    write(out, "onnx-export", "global-avg-pool", onnx_export_seed(
        2, 6, 5, [("conv2d", 4, 3, False, True), ("batchnorm", 1, 1, False, False),
                  ("globalavgpool", 1, 1, False, False), ("dense", 3, 1, False, False)], 1,
                  [0.5, -1.25, 2.0, 0.375]))
    write(out, "onnx-export", "not-finite", onnx_export_seed(
        2, 3, 3, [("flatten", 1, 1, False, False), ("dense", 2, 1, False, False)], 1,
        [0.5, float("nan"), 1.0, float("inf")]))

    write(out, "tar", "cifar.tar.gz", cifar_archive())
    write(out, "tar", "cifar.tar", cifar_archive(compress=False))
    write(out, "tar", "unsafe.tar.gz", cifar_archive(extra=[("../escape", b"x")]))

    for name, data in RUN_STORE_SQL.items():
        write(out, "run-store", name + ".sql", data)
    write(out, "run-store", "newer.sqlite", sqlite_file("PRAGMA user_version = 7;"))
    write(out, "run-store", "views.sqlite", sqlite_file(
        "CREATE TABLE t (x); CREATE VIEW runs AS SELECT x AS id FROM t;"
        " CREATE VIEW steps AS SELECT 1; CREATE VIEW epochs AS SELECT 1; PRAGMA user_version = 1;"))


if __name__ == "__main__":
    main()
