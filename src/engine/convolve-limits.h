/* convolve-limits.h: every limit on outside input, in one place. Convolve
 * opens files from anywhere (models shared online, dataset archives,
 * pictures from a browser); anything sized by a header is checked against
 * these and against the bytes actually present before memory is spent.
 * Each limit has an error message that names it. SECURITY.md lists them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- models (safetensors files, model specs) ---- */

/* The JSON header of a model file. */
#define CONVOLVE_LIMIT_MODEL_HEADER_BYTES   (G_GINT64_CONSTANT (4) * 1024 * 1024)
/* Nesting of that header's JSON. */
#define CONVOLVE_LIMIT_JSON_DEPTH           16
/* Dimensions of a tensor. */
#define CONVOLVE_LIMIT_TENSOR_RANK          8
/* A model's input: each side, and all of it in floats. */
#define CONVOLVE_LIMIT_INPUT_SIDE           16384
#define CONVOLVE_LIMIT_INPUT_FLOATS         (1 << 24)
/* Layers, units (filters) and kernel size in a model spec. */
#define CONVOLVE_LIMIT_SPEC_LAYERS          256
#define CONVOLVE_LIMIT_SPEC_UNITS           65536
#define CONVOLVE_LIMIT_SPEC_KERNEL          31
/* Images in one batch. */
#define CONVOLVE_LIMIT_BATCH                (1 << 20)
/* Values (JSON nodes) in a model file's header: a Convolve header of the
 * largest spec has about 40,000; each node costs tens of bytes, so the
 * parsed tree stays a few tens of megabytes whatever the header holds. */
#define CONVOLVE_LIMIT_JSON_NODES           (1 << 18)
/* A model's parameters and state, in floats (1 GiB of float32). A model
 * file must also hold exactly as many floats as its spec needs. */
#define CONVOLVE_LIMIT_MODEL_FLOATS         (G_GUINT64_CONSTANT (1) << 28)
/* A model's activations for one image plus its im2col workspace, in
 * floats (256 MiB of float32). */
#define CONVOLVE_LIMIT_ACTIVATION_FLOATS    (G_GUINT64_CONSTANT (1) << 26)

/* ---- images (the predictor, image folders) ---- */

/* Pixels and encoded bytes of one picture. */
#define CONVOLVE_LIMIT_IMAGE_PIXELS         (G_GINT64_CONSTANT (100) * 1000 * 1000)
#define CONVOLVE_LIMIT_IMAGE_BYTES          (G_GINT64_CONSTANT (256) * 1024 * 1024)
/* An image folder: files listed (skipped ones too), class folders (labels
 * are bytes), folders nested inside a class folder, and its cache file
 * (also bounded by CONVOLVE_LIMIT_DATASET_BYTES of pixels). */
#define CONVOLVE_LIMIT_FOLDER_FILES         1000000
#define CONVOLVE_LIMIT_FOLDER_CLASSES       256
#define CONVOLVE_LIMIT_FOLDER_DEPTH         16

/* ---- datasets (CIFAR-10 batches and pickles, IDX, archives) ---- */

/* A side of an IDX image, and an IDX file's decoded bytes. */
#define CONVOLVE_LIMIT_IDX_SIDE             4096
#define CONVOLVE_LIMIT_IDX_BYTES            (G_GUINT64_CONSTANT (4) << 30)
/* Values, memo entries and global names in a pickle. */
#define CONVOLVE_LIMIT_PICKLE_VALUES        1000000
#define CONVOLVE_LIMIT_PICKLE_MEMO          1000000
#define CONVOLVE_LIMIT_PICKLE_GLOBAL_NAME   128
/* What a pickle may make beyond the bytes it points into: values, copied
 * items and decoded byte strings, at most this many bytes per byte of the
 * file plus a fixed allowance (a CIFAR-10 batch makes far less). */
#define CONVOLVE_LIMIT_PICKLE_BYTES_PER_BYTE 64
#define CONVOLVE_LIMIT_PICKLE_BASE_BYTES    (G_GUINT64_CONSTANT (1) << 20)
/* Dimensions of a numpy array in a pickle (CIFAR-10's are 2). */
#define CONVOLVE_LIMIT_PICKLE_ARRAY_RANK    2
/* Deflate never expands more than 1032:1: a gzip file declaring more
 * decoded bytes than this many per compressed byte cannot hold them. */
#define CONVOLVE_LIMIT_GZIP_RATIO           1032

/* ---- downloads and the archives they bring ---- */

/* One download (the CIFAR-10 archive is 163 MB), with or without a
 * Content-Length. */
#define CONVOLVE_LIMIT_DOWNLOAD_BYTES       (G_GUINT64_CONSTANT (2) << 30)
/* One file unpacked from an archive (a CIFAR-10 batch is 30 MB). */
#define CONVOLVE_LIMIT_ARCHIVE_MEMBER_BYTES (G_GUINT64_CONSTANT (1) << 30)
/* All the files of a dataset, unpacked (CIFAR-10: 178 MB), and any one
 * dataset file read whole (a CIFAR-10 python batch). */
#define CONVOLVE_LIMIT_DATASET_BYTES        (G_GUINT64_CONSTANT (4) << 30)

G_END_DECLS
