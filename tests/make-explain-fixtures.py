#!/usr/bin/python3
"""Reference fixture for tests/test-explain.c: the gradient of one class
score with respect to the input, and Grad-CAM, computed by PyTorch in
float64 on a small hand-built model (the layer conventions, the weight
drawing and the file format are those of tests/make-fixtures.py, which this
script imports).

Run by hand from the source tree; CI uses the committed file:

    /usr/bin/python3 tests/make-explain-fixtures.py            # (re)writes tests/fixtures/explain.safetensors
    /usr/bin/python3 tests/make-explain-fixtures.py --check    # compares with it

Contents (N images, each explained for the class in `classes`):

  x, classes                 the images (F32 N,C,H,W) and classes (I32 N)
  weights/<tensor>           the model, in the engine's layouts
  logits                     inference logits (BatchNorm on moving
                             statistics, Dropout off)
  input_gradient             d logits[n, classes[n]] / d x[n]  (N,C,H,W)
  features                   the last Conv2D layer's output after its
                             activation, A (N,K,h,w)
  grad_cam                   ReLU(sum_k alpha_k A_k), alpha_k = mean over
                             (h, w) of d logit / d A_k, unnormalised (N,h,w)
  saliency                   max over channels of |input_gradient|, divided
                             by its maximum (N,H,W)
  grad_cam_map               grad_cam upsampled bilinearly to (H, W) with
                             align_corners=False, divided by its maximum
                             (N,H,W)

The classes are each image's most and least likely class, so that the map
of a class the model rejects is checked too (its Grad-CAM must still have a
positive cell, or the check would prove little; the script asserts it).
"""
import importlib.util
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('make_fixtures', os.path.join(HERE, 'make-fixtures.py'))
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)

CASE = dict(name='explain',
            seed=8080,
            input=(2, 9, 7),
            # two convolutions (Grad-CAM takes the second), BatchNorm
            # between them, pooling that drops a row and a column, Dropout
            # that inference skips
            spec='conv2d(3,3,same,relu),batchnorm,conv2d(4,3,valid,relu),maxpool(2),flatten,'
                 'dense(8,relu),dropout(0.3),dense(3,softmax)',
            moving_variance=(0.3, 1.2),
            batch=2)


def make_case(case):
    rng = np.random.default_rng(case['seed'])
    layers = mf.build(case['spec'], case['input'])
    weights = mf.initial_weights(layers, rng, case['moving_variance'])
    x = rng.uniform(0, 1, (case['batch'],) + case['input']).astype(np.float32).astype(np.float64)
    last_conv = max(i for i, layer in enumerate(layers) if layer['kind'] == 'conv2d')
    w = {k: torch.tensor(v) for k, v in weights.items()}

    out = {'x': x}
    for k, v in weights.items():
        out['weights/' + k] = v

    classes, logits_all, grads, features_all, cams, saliency, cam_maps = [], [], [], [], [], [], []
    for n in range(case['batch']):
        with torch.no_grad():
            logits, _ = mf.forward(layers, w, torch.tensor(x[n:n + 1]), training=False)
        order = logits[0].argsort(descending=True)
        for cls in (int(order[0]), int(order[-1])):
            xi = torch.tensor(x[n:n + 1], requires_grad=True)
            features, _ = mf.forward(layers[:last_conv + 1], w, xi, training=False)
            features.retain_grad()
            logits, _ = mf.forward(layers[last_conv + 1:], w, features, training=False)
            logits[0, cls].backward()
            g = xi.grad[0].numpy()
            alpha = features.grad[0].mean(dim=(1, 2))
            cam = torch.relu((alpha[:, None, None] * features[0].detach()).sum(dim=0))
            assert cam.max() > 0, 'a Grad-CAM without a positive cell proves little'
            sal = np.abs(g).max(axis=0)
            up = F.interpolate(cam[None, None], size=case['input'][1:], mode='bilinear',
                               align_corners=False)[0, 0]
            classes.append(cls)
            logits_all.append(logits[0].detach().numpy())
            grads.append(g)
            features_all.append(features[0].detach().numpy())
            cams.append(cam.numpy())
            saliency.append(sal / sal.max())
            cam_maps.append((up / up.max()).numpy())
    # each image appears twice, once per class
    out['x'] = np.repeat(x, 2, axis=0)
    out['classes'] = np.array(classes, dtype=np.int32)
    out['logits'] = np.array(logits_all)
    out['input_gradient'] = np.array(grads)
    out['features'] = np.array(features_all)
    out['grad_cam'] = np.array(cams)
    out['saliency'] = np.array(saliency)
    out['grad_cam_map'] = np.array(cam_maps)

    metadata = {
        'generator': 'tests/make-explain-fixtures.py (PyTorch %s, float64)' % torch.__version__,
        'spec': case['spec'],
        'input_shape': '[%d,%d,%d]' % case['input'],
        'batch': str(2 * case['batch']),
        'last_conv': str(last_conv),
        'bn_epsilon': repr(mf.BN_EPSILON),
    }
    return out, metadata


def main():
    check = '--check' in sys.argv[1:]
    torch.manual_seed(0)
    tensors, metadata = make_case(CASE)
    path = os.path.join(mf.FIXTURES, CASE['name'] + '.safetensors')
    if not check:
        os.makedirs(mf.FIXTURES, exist_ok=True)
        with open(path, 'wb') as f:
            f.write(mf.to_bytes(tensors, metadata))
        print(f'{path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes')
        return 0
    stored, stored_meta = mf.read(path)
    failures = 0
    if set(stored) != set(tensors) or stored_meta != metadata | {'generator': stored_meta.get('generator')}:
        print(f'{path}: tensor names or metadata differ')
        return 1
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
