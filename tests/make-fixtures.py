#!/usr/bin/python3
"""Reference fixtures for tests/test-reference.c, from an independent
implementation: PyTorch (Debian's python3-torch), computing in float64.

Run by hand from the source tree; CI does not need PyTorch, it uses the
committed files:

    /usr/bin/python3 tests/make-fixtures.py            # (re)writes tests/fixtures/
    /usr/bin/python3 tests/make-fixtures.py --check    # compares with them

Each case is the tutorial's layer stack at toy size, with weights drawn here
from a fixed seed (so nothing depends on either implementation's
initialiser), one batch of inputs and labels, and everything a C test needs
to check one forward, loss, backward and two optimizer steps:

  x, labels                      the batch (F32 N,C,H,W; I32 N)
  weights/<tensor>               starting weights, in the engine's layouts:
                                 conv kernel [out,in,kh,kw], dense kernel
                                 [in,out] (Keras), moving statistics
  predict/probabilities          inference (BatchNorm on moving statistics,
                                 Dropout off), spec "infer_spec"
  predict/loss_sum, predict/argmax
  forward/logits, forward/loss   training-mode forward (batch statistics)
  forward/<bn>/moving_mean|moving_variance   after that forward
  batch_stats/<bn>/mean|variance|unbiased_variance   that forward's batch
                                 statistics: the biased variance normalises,
                                 the unbiased one feeds the moving average;
                                 both are kept so the test can show that it
                                 tells the two apart
  grad/<tensor>                  d(mean loss)/d(weights)
  <opt>/loss                     the two training losses (before each step)
  <opt>/1/<tensor>, <opt>/2/<tensor>  every tensor after one and two steps
                                 of train_step (forward, loss, backward,
                                 update) on the same batch; opt is adam, sgd
                                 (momentum) or nesterov

Conventions, written out by hand here rather than taken from torch where the
two differ:
  * BatchNormalization: epsilon 1e-3, momentum 0.99 (torch 0.01), training
    normalises with the biased batch variance; the moving variance follows
    tf.keras's fused kernel on 4-D inputs, which feeds the *unbiased*
    (Bessel-corrected) batch variance into the moving average (see
    src/engine/convolve-batchnorm.c). Keras 3 feeds the biased one; the
    engine follows tf.keras.
  * Adam as Keras: alpha = lr * sqrt(1 - b2^t) / (1 - b1^t),
    m += (g - m)(1 - b1), v += (g^2 - v)(1 - b2), p -= alpha m / (sqrt(v) + eps)
    (torch puts eps inside the bias correction).
  * SGD as Keras: v = momentum v - lr g; p += v, or with Nesterov
    p += momentum v - lr g.
  * Dropout: the training reference uses the spec without its Dropout layer
    (a random mask cannot be shared with the engine's RNG); the inference
    reference uses the spec with Dropout, which inference skips. The Dropout
    layer's own behaviour is tested in the engine's layer tests.
  * Softmax + sparse categorical cross-entropy, mean over the batch.
  * GlobalAveragePooling2D: torch's adaptive_avg_pool2d to 1x1, then the
    [N, C] that Keras' layer gives.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, 'fixtures')

BN_MOMENTUM = 0.99
BN_EPSILON = 1e-3
ADAM = dict(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
SGD = dict(learning_rate=0.1, momentum=0.9)

CASES = [
    # The tutorial's stack, small: same padding, 3 channels, Dense + Dropout.
    dict(name='reference-small',
         seed=20240601,
         input=(3, 8, 8), batch=4,
         train_spec='conv2d(4,3,same,relu),batchnorm,maxpool(2),flatten,'
                    'dense(16,relu),dense(5,softmax)',
         infer_spec='conv2d(4,3,same,relu),batchnorm,maxpool(2),flatten,'
                    'dense(16,relu),dropout(0.2),dense(5,softmax)',
         moving_variance=(0.05, 0.2)),
    # Valid padding on a non-square 7x5 input with two
    # channels, pooling that drops a row and a column, a linear Dense
    # followed by a separate ReLU layer, few samples per BN channel.
    dict(name='reference-odd',
         seed=7130,
         input=(2, 7, 5), batch=3,
         train_spec='conv2d(3,3,valid,relu),batchnorm,maxpool(2),flatten,'
                    'dense(6,linear),relu,dense(3,softmax)',
         infer_spec='conv2d(3,3,valid,relu),batchnorm,maxpool(2),flatten,'
                    'dense(6,linear),relu,dropout(0.5),dense(3,softmax)',
         moving_variance=(0.5, 1.5)),
    # GlobalAveragePooling2D instead of pooling and flattening: the mean of
    # each channel of a non-square 6x5 map feeds the Dense head directly.
    dict(name='reference-gap',
         seed=31337,
         input=(3, 6, 5), batch=4,
         train_spec='conv2d(4,3,same,relu),batchnorm,globalavgpool,'
                    'dense(8,relu),dense(3,softmax)',
         infer_spec='conv2d(4,3,same,relu),batchnorm,globalavgpool,'
                    'dense(8,relu),dropout(0.3),dense(3,softmax)',
         moving_variance=(0.1, 0.6)),
]


def parse_spec(text):
    items, depth, current = [], 0, ''
    for ch in text.replace(' ', '') + ',':
        if ch == ',' and depth == 0:
            items.append(current)
            current = ''
            continue
        depth += {'(': 1, ')': -1}.get(ch, 0)
        current += ch
    layers = []
    for item in items:
        name, _, args = item.rstrip(')').partition('(')
        layers.append((name, args.split(',') if args else []))
    return layers


def build(spec, input_shape):
    """Layer list with Keras names and parameter shapes (engine layouts)."""
    c, h, w = input_shape
    counts = {}
    layers = []
    flat = None

    def keras_name(base):
        n = counts.get(base, 0)
        counts[base] = n + 1
        return base if n == 0 else f'{base}_{n}'

    for kind, args in parse_spec(spec):
        if kind == 'conv2d':
            out, k = int(args[0]), int(args[1])
            padding, act = args[2], args[3]
            name = keras_name('conv2d')
            layers.append(dict(kind=kind, name=name, k=k, padding=padding, act=act,
                               params={'kernel': (out, c, k, k), 'bias': (out,)}))
            if padding == 'valid':
                h, w = h - k + 1, w - k + 1
            c = out
        elif kind == 'batchnorm':
            name = keras_name('batch_normalization')
            layers.append(dict(kind=kind, name=name,
                               params={'gamma': (c,), 'beta': (c,)},
                               state={'moving_mean': (c,), 'moving_variance': (c,)}))
        elif kind == 'maxpool':
            p = int(args[0]) if args else 2
            layers.append(dict(kind=kind, pool=p))
            h, w = h // p, w // p
        elif kind == 'flatten':
            layers.append(dict(kind=kind))
            flat = c * h * w
        elif kind == 'globalavgpool':
            layers.append(dict(kind=kind))
            flat = c
        elif kind == 'dense':
            units = int(args[0])
            act = args[1] if len(args) > 1 else 'linear'
            name = keras_name('dense')
            layers.append(dict(kind=kind, name=name, act=act,
                               params={'kernel': (flat, units), 'bias': (units,)}))
            flat = units
        elif kind == 'relu':
            layers.append(dict(kind=kind))
        elif kind == 'dropout':
            layers.append(dict(kind=kind, rate=float(args[0])))
        else:
            raise ValueError(kind)
    return layers


def initial_weights(layers, rng, moving_variance):
    weights = {}
    for layer in layers:
        if layer['kind'] == 'conv2d':
            out, cin, k, _ = layer['params']['kernel']
            limit = np.sqrt(6.0 / (cin * k * k + out * k * k))
            weights[layer['name'] + '/kernel'] = rng.uniform(-limit, limit, (out, cin, k, k))
            weights[layer['name'] + '/bias'] = rng.uniform(-0.1, 0.1, (out,))
        elif layer['kind'] == 'dense':
            fan_in, units = layer['params']['kernel']
            limit = np.sqrt(6.0 / (fan_in + units))
            weights[layer['name'] + '/kernel'] = rng.uniform(-limit, limit, (fan_in, units))
            weights[layer['name'] + '/bias'] = rng.uniform(-0.1, 0.1, (units,))
        elif layer['kind'] == 'batchnorm':
            (c,) = layer['params']['gamma']
            weights[layer['name'] + '/gamma'] = rng.uniform(0.5, 1.5, (c,))
            weights[layer['name'] + '/beta'] = rng.uniform(-0.2, 0.2, (c,))
            weights[layer['name'] + '/moving_mean'] = rng.uniform(-0.3, 0.3, (c,))
            weights[layer['name'] + '/moving_variance'] = rng.uniform(*moving_variance, (c,))
    # Stored as float32: round here so both sides start from the same values.
    return {k: v.astype(np.float32).astype(np.float64) for k, v in weights.items()}


def trainable(layers):
    names = []
    for layer in layers:
        for p in layer.get('params', {}):
            names.append(layer['name'] + '/' + p)
    return names


def forward(layers, weights, x, training):
    """Returns (logits, {bn name: (mean, biased var, unbiased var)})."""
    stats = {}
    for layer in layers:
        kind = layer['kind']
        if kind == 'conv2d':
            pad = layer['k'] // 2 if layer['padding'] == 'same' else 0
            x = F.conv2d(x, weights[layer['name'] + '/kernel'], weights[layer['name'] + '/bias'],
                         padding=pad)
            if layer['act'] == 'relu':
                x = torch.relu(x)
        elif kind == 'batchnorm':
            n = layer['name']
            if training:
                mean = x.mean(dim=(0, 2, 3))
                var = ((x - mean[None, :, None, None]) ** 2).mean(dim=(0, 2, 3))
                m = x.shape[0] * x.shape[2] * x.shape[3]
                stats[n] = (mean.detach(), var.detach(), var.detach() * m / (m - 1))
            else:
                mean, var = weights[n + '/moving_mean'], weights[n + '/moving_variance']
            xhat = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + BN_EPSILON)
            x = xhat * weights[n + '/gamma'][None, :, None, None] + weights[n + '/beta'][None, :, None, None]
        elif kind == 'maxpool':
            x = F.max_pool2d(x, layer['pool'])
        elif kind == 'flatten':
            x = x.reshape(x.shape[0], -1)  # NCHW order, as the engine
        elif kind == 'globalavgpool':
            x = F.adaptive_avg_pool2d(x, 1).reshape(x.shape[0], -1)
        elif kind == 'dense':
            x = x @ weights[layer['name'] + '/kernel'] + weights[layer['name'] + '/bias']
            if layer['act'] == 'relu':
                x = torch.relu(x)
            # softmax is fused with the loss: the model returns logits
        elif kind == 'relu':
            x = torch.relu(x)
        elif kind == 'dropout':
            if training:
                raise ValueError('training references use specs without dropout')
    return x, stats


def loss_and_grads(layers, weights, x, labels):
    names = trainable(layers)
    leaves = {k: torch.tensor(v, requires_grad=k in names) for k, v in weights.items()}
    logits, stats = forward(layers, leaves, torch.tensor(x), training=True)
    loss = F.cross_entropy(logits, torch.tensor(labels, dtype=torch.long))
    loss.backward()
    grads = {k: leaves[k].grad.numpy().copy() for k in names}
    return logits.detach().numpy(), loss.item(), grads, stats


def update_moving(weights, stats):
    out = dict(weights)
    for n, (mean, _, var) in stats.items():
        out[n + '/moving_mean'] = weights[n + '/moving_mean'] * BN_MOMENTUM + mean.numpy() * (1 - BN_MOMENTUM)
        out[n + '/moving_variance'] = weights[n + '/moving_variance'] * BN_MOMENTUM + var.numpy() * (1 - BN_MOMENTUM)
    return out


class Adam:
    def __init__(self):
        self.t = 0
        self.m, self.v = {}, {}

    def step(self, params, grads):
        self.t += 1
        b1, b2 = ADAM['beta_1'], ADAM['beta_2']
        alpha = ADAM['learning_rate'] * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        out = dict(params)
        for k, g in grads.items():
            m = self.m.get(k, np.zeros_like(g))
            v = self.v.get(k, np.zeros_like(g))
            m = m + (g - m) * (1 - b1)
            v = v + (g * g - v) * (1 - b2)
            self.m[k], self.v[k] = m, v
            out[k] = params[k] - alpha * m / (np.sqrt(v) + ADAM['epsilon'])
        return out


class Sgd:
    def __init__(self, nesterov):
        self.nesterov = nesterov
        self.velocity = {}

    def step(self, params, grads):
        lr, mom = SGD['learning_rate'], SGD['momentum']
        out = dict(params)
        for k, g in grads.items():
            v = mom * self.velocity.get(k, np.zeros_like(g)) - lr * g
            self.velocity[k] = v
            out[k] = params[k] + (mom * v - lr * g if self.nesterov else v)
        return out


def make_case(case):
    rng = np.random.default_rng(case['seed'])
    layers = build(case['train_spec'], case['input'])
    infer_layers = build(case['infer_spec'], case['input'])
    weights = initial_weights(layers, rng, case['moving_variance'])
    x = rng.uniform(0, 1, (case['batch'],) + case['input']).astype(np.float32).astype(np.float64)
    n_classes = layers[-1]['params']['bias'][0]
    labels = rng.integers(0, n_classes, case['batch']).astype(np.int32)

    out = {'x': x, 'labels': labels}
    for k, v in weights.items():
        out['weights/' + k] = v

    with torch.no_grad():
        logits, _ = forward(infer_layers, {k: torch.tensor(v) for k, v in weights.items()},
                            torch.tensor(x), training=False)
        losses = F.cross_entropy(logits, torch.tensor(labels, dtype=torch.long), reduction='none')
    out['predict/probabilities'] = torch.softmax(logits, dim=1).numpy()
    out['predict/loss_sum'] = np.array([losses.sum().item()])
    out['predict/argmax'] = logits.argmax(dim=1).numpy().astype(np.int32)

    logits, loss, grads, stats = loss_and_grads(layers, weights, x, labels)
    out['forward/logits'] = logits
    out['forward/loss'] = np.array([loss])
    after = update_moving(weights, stats)
    for n, (mean, var_biased, var_unbiased) in stats.items():
        out[f'forward/{n}/moving_mean'] = after[n + '/moving_mean']
        out[f'forward/{n}/moving_variance'] = after[n + '/moving_variance']
        out[f'batch_stats/{n}/mean'] = mean.numpy()
        out[f'batch_stats/{n}/variance'] = var_biased.numpy()
        out[f'batch_stats/{n}/unbiased_variance'] = var_unbiased.numpy()
    for k, g in grads.items():
        out['grad/' + k] = g

    for opt_name, opt in (('adam', Adam()), ('sgd', Sgd(False)), ('nesterov', Sgd(True))):
        current = dict(weights)
        step_losses = []
        for step in (1, 2):
            _, loss, grads, stats = loss_and_grads(layers, current, x, labels)
            step_losses.append(loss)
            current = opt.step(update_moving(current, stats), grads)
            for k, v in current.items():
                out[f'{opt_name}/{step}/{k}'] = v
        out[f'{opt_name}/loss'] = np.array(step_losses)

    metadata = {
        'generator': 'tests/make-fixtures.py (PyTorch %s, float64)' % torch.__version__,
        'train_spec': case['train_spec'],
        'infer_spec': case['infer_spec'],
        'input_shape': '[%d,%d,%d]' % case['input'],
        'batch': str(case['batch']),
        'bn_momentum': repr(BN_MOMENTUM),
        'bn_epsilon': repr(BN_EPSILON),
        'moving_variance': 'unbiased batch variance (tf.keras fused BatchNormalization)',
    }
    for k, v in ADAM.items():
        metadata['adam.' + k] = repr(v)
    for k, v in SGD.items():
        metadata['sgd.' + k] = repr(v)
    return out, metadata


def to_bytes(tensors, metadata):
    header = {'__metadata__': metadata}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = tensors[name]
        if a.dtype == np.int32:
            dtype, raw = 'I32', a.astype('<i4').tobytes()
        else:
            dtype, raw = 'F32', a.astype('<f4').tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape),
                        'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(blobs)


def read(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop('__metadata__')
    body = data[8 + n:]
    tensors = {}
    for name, t in header.items():
        dt = {'F32': '<f4', 'I32': '<i4'}[t['dtype']]
        b, e = t['data_offsets']
        tensors[name] = np.frombuffer(body[b:e], dt).reshape(t['shape'])
    return tensors, metadata


def main():
    check = '--check' in sys.argv[1:]
    torch.manual_seed(0)
    failures = 0
    os.makedirs(FIXTURES, exist_ok=True)
    for case in CASES:
        tensors, metadata = make_case(case)
        path = os.path.join(FIXTURES, case['name'] + '.safetensors')
        if not check:
            with open(path, 'wb') as f:
                f.write(to_bytes(tensors, metadata))
            print(f'{path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes')
            continue
        stored, stored_meta = read(path)
        if set(stored) != set(tensors) or stored_meta != metadata | {'generator': stored_meta.get('generator')}:
            print(f'{path}: tensor names or metadata differ')
            failures += 1
            continue
        for name, a in tensors.items():
            b = stored[name].astype(np.float64)
            scale = max(np.abs(a).max(), 1e-6)
            err = np.abs(a - b).max() / scale
            if err > 1e-6:
                print(f'{path}: {name}: max relative difference {err:.3g}')
                failures += 1
        print(f'{path}: {"differs" if failures else "matches"}')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
