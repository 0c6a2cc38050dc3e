#!/usr/bin/env python3
"""Reads a model file written by the engine with nothing but the standard
library (struct + json), and checks it against the sidecar the writer left.

usage: read-safetensors.py MODEL-FILE-WRITER   (runs it in a temporary directory)
       read-safetensors.py --file FILE.safetensors   (checks FILE against FILE.expected)
"""
import json, math, os, struct, subprocess, sys, tempfile


def read_safetensors(path):
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop('__metadata__', {})
    tensors = {}
    for name, t in header.items():
        assert t['dtype'] == 'F32', name
        begin, end = t['data_offsets']
        values = struct.unpack('<%df' % ((end - begin) // 4), data[begin:end])
        tensors[name] = (t['shape'], values)
    return meta, tensors, (n, len(data))


def check(path):
    meta, tensors, (n, data_len) = read_safetensors(path)
    failures = []
    assert n % 8 == 0, 'header not padded to 8 bytes'
    spans = sorted(tuple(t['data_offsets']) for t in json.loads(open(path, 'rb').read()[8:8 + n]).values()
                   if 'data_offsets' in t)
    assert spans[0][0] == 0 and spans[-1][1] == data_len and all(a[1] == b[0] for a, b in zip(spans, spans[1:])), \
        'tensor data not contiguous'
    expected_names = set()
    for line in open(path + '.expected', encoding='utf-8'):
        kind, rest = line.rstrip('\n').split(' ', 1)
        if kind == 'meta':
            key, value = rest.split(' ', 1)
            if meta.get(key) != value:
                failures.append('metadata %s: %r, expected %r' % (key, meta.get(key), value))
            continue
        name, shape, total = kind, rest.split(' ')[0], float(rest.split(' ')[1])
        expected_names.add(name)
        if name not in tensors:
            failures.append('missing tensor ' + name)
            continue
        got_shape, values = tensors[name]
        if got_shape != [int(d) for d in shape.split(',')]:
            failures.append('%s: shape %s, expected %s' % (name, got_shape, shape))
        s = sum(values)  # in file order, as the writer summed
        if not math.isclose(s, total, rel_tol=1e-9, abs_tol=1e-12):
            failures.append('%s: sum %.17g, expected %.17g' % (name, s, total))
    if set(tensors) != expected_names:
        failures.append('unexpected tensors: %s' % sorted(set(tensors) - expected_names))
    json.loads(meta['class_names'])  # a JSON array in a string
    try:  # the reference reader too, where it is installed
        from safetensors.numpy import load_file
        loaded = load_file(path)
        for name, (shape, values) in tensors.items():
            if list(loaded[name].shape) != shape or loaded[name].ravel().tolist() != list(values):
                failures.append('safetensors package disagrees on ' + name)
        print('checked with the safetensors package as well')
    except ImportError:
        pass
    for f in failures:
        print('FAIL:', f)
    print('%s: %d tensors, %d metadata entries, %s' % (os.path.basename(path), len(tensors), len(meta),
                                                      'ok' if not failures else '%d failures' % len(failures)))
    return not failures


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--file':
        return 0 if check(sys.argv[2]) else 1
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'model.safetensors')
        subprocess.run([sys.argv[1], path], check=True)
        return 0 if check(path) else 1


if __name__ == '__main__':
    sys.exit(main())
