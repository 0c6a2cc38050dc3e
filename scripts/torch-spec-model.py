#!/usr/bin/env python3
"""The PyTorch peer of a Convolve model spec, for side-by-side speed.

Builds the model that a spec text describes (the same text `convolve-cli
bench --spec` and `convolve-cli train --spec` take, see
src/engine/convolve-model-spec.c) layer for layer in PyTorch with the Keras
defaults that Convolve follows: glorot-uniform kernels and zero biases,
BatchNorm eps 1e-3 momentum 0.99 (PyTorch's 0.01), Adam lr 1e-3 eps 1e-7,
batch 32; conv2d defaults to 'valid' padding and no activation, maxpool to
2, dense to no activation; softmax on the last dense layer is folded into
the cross-entropy loss, as PyTorch does it.

usage: torch-spec-model.py throughput STEPS SPEC
  Trains STEPS steps (after 20 untimed ones) on one batch of random
  32x32x3 images and prints
    train N img/s (M ms/step, batch 32, cpu, T threads)
    predict one image U us
  like ../shared/bench/torch_seed_model.py throughput.
env: THREADS (CPU threads), SEED, CHANNELS, SIZE (input 3 x 32 x 32)
"""
import os
import re
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(int(os.environ.get('THREADS', os.cpu_count())))
torch.manual_seed(int(os.environ.get('SEED', '0')))


def split_items(text):
    """Top-level comma-separated items; commas inside parentheses stay."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == '(':
            depth += 1
        elif ch == ')':
            depth -= 1
        elif ch == ',' and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item for item in items if item]


def parse(text):
    layers = []
    for item in split_items(re.sub(r'\s+', '', text.lower())):
        m = re.fullmatch(r'([a-z_0-9]+)(?:\((.*)\))?', item)
        if m is None:
            raise SystemExit(f'cannot parse layer {item!r}')
        name, args = m.group(1), (m.group(2).split(',') if m.group(2) else [])
        layers.append((name, args))
    return layers


def build(spec, c, h, w):
    modules, rank, n = [], 3, len(spec)
    for i, (name, args) in enumerate(spec):
        if name == 'conv2d':
            filters, k = int(args[0]), int(args[1])
            padding, act = 'valid', 'linear'
            for a in args[2:]:
                if a in ('same', 'valid'):
                    padding = a
                else:
                    act = a
            # Keras 'same' with stride 1 pads k - 1 in total, the smaller half first.
            if padding == 'same':
                before, after = (k - 1) // 2, k - 1 - (k - 1) // 2
                if before != after:
                    modules.append(nn.ZeroPad2d((before, after, before, after)))
                    conv = nn.Conv2d(c, filters, k)
                else:
                    conv = nn.Conv2d(c, filters, k, padding=before)
            else:
                conv = nn.Conv2d(c, filters, k)
                h, w = h - k + 1, w - k + 1
            modules.append(conv)
            if act == 'relu':
                modules.append(nn.ReLU())
            c = filters
        elif name in ('batchnorm', 'batch_normalization'):
            modules.append(nn.BatchNorm2d(c, eps=1e-3, momentum=0.01) if rank == 3
                           else nn.BatchNorm1d(c, eps=1e-3, momentum=0.01))
        elif name in ('maxpool', 'max_pooling2d'):
            p = int(args[0]) if args else 2
            modules.append(nn.MaxPool2d(p))
            h, w = h // p, w // p
        elif name == 'flatten':
            modules.append(nn.Flatten())
            c, h, w, rank = c * h * w, 1, 1, 1
        elif name == 'relu':
            modules.append(nn.ReLU())
        elif name == 'dropout':
            modules.append(nn.Dropout(float(args[0])))
        elif name == 'dense':
            units = int(args[0])
            act = args[1] if len(args) > 1 else 'linear'
            modules.append(nn.Linear(c, units))
            if act == 'relu':
                modules.append(nn.ReLU())
            elif act == 'softmax' and i != n - 1:
                raise SystemExit('softmax is only allowed on the last layer')
            c = units
        else:
            raise SystemExit(f'unknown layer {name!r}')
    m = nn.Sequential(*modules)
    for layer in m:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return m, c


def throughput(steps, text):
    ch, size = int(os.environ.get('CHANNELS', '3')), int(os.environ.get('SIZE', '32'))
    m, classes = build(parse(text), ch, size, size)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-7)
    lossf = nn.CrossEntropyLoss()
    x = torch.rand(32, ch, size, size)
    y = torch.randint(0, classes, (32,))
    for s in range(steps + 20):
        if s == 20:
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = lossf(m(x), y)
        loss.backward()
        opt.step()
    dt = time.perf_counter() - t0
    print(f"train {32 * steps / dt:.0f} img/s ({dt / steps * 1000:.2f} ms/step, batch 32, cpu, "
          f"{torch.get_num_threads()} threads, {sum(p.numel() for p in m.parameters())} params)")
    m.eval()
    xi = torch.rand(1, ch, size, size)
    with torch.no_grad():
        for _ in range(50):
            m(xi)
        t0 = time.perf_counter()
        for _ in range(500):
            m(xi)
    print(f"predict one image {(time.perf_counter() - t0) / 500 * 1e6:.0f} us")


if __name__ == '__main__':
    if len(sys.argv) != 4 or sys.argv[1] != 'throughput':
        raise SystemExit(__doc__)
    throughput(int(sys.argv[2]), sys.argv[3])
