#!/usr/bin/env python3
"""Data-parallel training over MPI: `convolve-cli train --distributed` run by
mpirun with 2 ranks on this machine, on a CIFAR-10 folder this test writes.

- 2 ranks give the weights (to float tolerance) and the loss curves (per
  epoch and, from the run store that rank 0 alone writes, per step) of one
  process with the same global batch and data order (a spec without
  BatchNorm and Dropout, whose per-rank behaviour differs by design), and
  check at each epoch end that both ranks hold identical weights; a last
  batch of one image leaves one rank without images in that step;
- the global batch can be given per rank (--batch-size-per-rank);
- a BatchNorm model trains, and --resume continues a distributed run to
  the weights of an uninterrupted one;
- a rank killed with SIGKILL ends the job, with a message on the survivor,
  and a rank that stops answering (SIGSTOP) ends it through the watchdog
  (--mpi-timeout), no hang in either case.

usage: test-mpi.py CONVOLVE-CLI yes|no   (no: built without MPI, exit 77)
"""
import json, math, os, random, select, shutil, signal, struct, subprocess, sys, tempfile, time

CLI = sys.argv[1]
if sys.argv[2] != 'yes':
    print('1..0 # SKIP built without MPI (-Dmpi=disabled, or OpenMPI missing)')
    sys.exit(77)

MPIRUN = shutil.which('mpirun')
if MPIRUN is None:
    print('Bail out! built with MPI but mpirun is missing (apt-get install openmpi-bin)')
    sys.exit(1)

SPEC = 'conv2d(6,3,same,relu),maxpool(2),flatten,dense(16,relu),dense(10,softmax)'
BN_SPEC = 'conv2d(6,3,same,relu),batchnorm,maxpool(2),flatten,dense(10,softmax)'
failures = []
n_checks = 0


def check(ok, name, detail=''):
    global n_checks
    n_checks += 1
    print('%s %d - %s%s' % ('ok' if ok else 'not ok', n_checks, name, '' if ok else ': ' + detail))
    if not ok:
        failures.append(name)


def write_cifar(folder, n_train, n_test):
    """The same kind of images as tests/test-cifar-folder.c: a bright band
    whose place tells the class, under uniform noise."""
    os.makedirs(folder)
    rng = random.Random(1)
    for name, n in (('data_batch_1.bin', n_train), ('test_batch.bin', n_test)):
        records = bytearray()
        for i in range(n):
            label = i % 10
            records.append(label)
            for c in range(3):
                for y in range(32):
                    band = 180 if (y // 4 + c) % 10 == label else 40
                    records.extend(band + rng.randrange(60) for _ in range(32))
        with open(os.path.join(folder, name), 'wb') as f:
            f.write(records)
    with open(os.path.join(folder, 'batches.meta.txt'), 'w') as f:
        f.write('\n'.join(['airplane', 'automobile', 'bird', 'cat', 'deer',
                           'dog', 'frog', 'horse', 'ship', 'truck']))


def read_tensors(path):
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop('__metadata__', None)
    tensors = {}
    for name, t in header.items():
        begin, end = t['data_offsets']
        tensors[name] = struct.unpack('<%df' % ((end - begin) // 4), data[begin:end])
    return tensors


def max_difference(a, b):
    """The largest |a - b| over the model's tensors (not the optimizer's)."""
    ta, tb = read_tensors(a), read_tensors(b)
    names = [n for n in ta if not n.startswith('optimizer')]
    assert names and set(names) <= set(tb), (names, list(tb))
    return max(max(abs(x - y) for x, y in zip(ta[n], tb[n])) for n in names)


def mpi_env():
    env = dict(os.environ)
    # One machine, maybe a container: shared memory between the ranks
    # without cross-memory attach (often not permitted), no ssh launcher.
    env.update({
        'OMPI_MCA_btl': 'self,vader',
        'OMPI_MCA_btl_vader_single_copy_mechanism': 'none',
        'OMPI_MCA_plm': 'isolated',
        'OMPI_MCA_rmaps_base_oversubscribe': '1',
        'OMPI_MCA_hwloc_base_binding_policy': 'none',
        'OPENBLAS_NUM_THREADS': '1',
    })
    return env


def mpirun_args(n):
    args = [MPIRUN, '--oversubscribe', '-np', str(n)]
    if os.geteuid() == 0:
        args.append('--allow-run-as-root')
    return args


def train(folder, extra, n=None, timeout=240):
    """convolve-cli train on one process (n None) or n ranks."""
    args = [CLI, 'train', '--data', folder, '--threads', '1', '--seed', '7'] + extra
    if n is not None:
        args = mpirun_args(n) + [CLI, 'train', '--distributed'] + args[2:]
    result = subprocess.run(args, env=mpi_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        print('# %s\n# exit %d\n# stdout: %s\n# stderr: %s' % (' '.join(args), result.returncode,
                                                                 result.stdout[-2000:], result.stderr[-2000:]))
    return result


def epochs_of(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def find_rank_pid(mpirun_pid, rank):
    """The pid of the rank's process, a child of mpirun (by its environment)."""
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            if ppid != mpirun_pid:
                continue
            with open('/proc/%s/environ' % entry, 'rb') as f:
                environ = f.read().split(b'\0')
            if b'OMPI_COMM_WORLD_RANK=%d' % rank in environ:
                return int(entry)
        except (OSError, ValueError, IndexError):
            continue
    return None


def run_and_break(folder, extra, how):
    """Starts 2 ranks, waits for the first epoch, then breaks rank 1 by
    sending it `how`; returns (exit status or None on a hang, stderr, seconds)."""
    args = mpirun_args(2) + [CLI, 'train', '--distributed', '--data', folder, '--threads', '1'] + extra
    log = tempfile.TemporaryFile(mode='w+')
    process = subprocess.Popen(args, env=mpi_env(), stdout=subprocess.PIPE, stderr=log, text=True,
                               start_new_session=True)
    seen = ''
    deadline = time.monotonic() + 120
    # (select before each read: a job that prints nothing must not hang the test)
    while 'Epoch 2/' not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(process.stdout.fileno(), 65536)
        if not chunk:
            break
        seen += chunk.decode('utf-8', 'replace')
    pid = find_rank_pid(process.pid, 1)
    if pid is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return 'no rank 1', seen, 0
    start = time.monotonic()
    os.kill(pid, how)
    try:
        # (reads to the end and waits, bounded: a stopped rank may hold
        # the pipe open after mpirun has given up on it)
        process.communicate(timeout=90)
        status = process.returncode
    except subprocess.TimeoutExpired:
        status = None
    seconds = time.monotonic() - start
    if status is None or how == signal.SIGSTOP:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if status is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.seek(0)
    return status, log.read(), seconds


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, 'cifar')
    write_cifar(data, 192, 50)
    out = lambda name: os.path.join(tmp, name)
    common = ['--epochs', '3', '--batch-size', '24', '--spec', SPEC]

    # 1. 2 ranks against 1 process, same global batch and order
    single = train(data, common + ['--save', out('single.safetensors'), '--log-json', out('single.json'),
                                   '--runs-db', out('single-runs.sqlite')])
    check(single.returncode == 0, 'single-process run')
    dist = train(data, common + ['--save', out('dist.safetensors'), '--log-json', out('dist.json'),
                                 '--runs-db', out('dist-runs.sqlite')], n=2)
    check(dist.returncode == 0, 'distributed run with 2 ranks')
    if single.returncode == 0 and dist.returncode == 0:
        check('Distributed over 2 ranks: 24 images per step, about 12 per rank' in dist.stdout,
              'rank 0 says how the batch is split', dist.stdout)
        check('Weights identical on all 2 ranks at 3 of 3 epoch ends' in dist.stdout,
              'both ranks hold identical weights at every epoch end', dist.stdout)
        check(dist.stdout.count('Epoch 1/3') == 1, 'only rank 0 prints progress', dist.stdout)
        difference = max_difference(out('single.safetensors'), out('dist.safetensors'))
        check(difference < 2e-5, 'weights after 24 steps equal the single process\'s',
              'max |difference| %g' % difference)
        a, b = epochs_of(out('single.json')), epochs_of(out('dist.json'))
        check(len(a) == len(b) == 3, 'both logs hold 3 epochs', '%d, %d' % (len(a), len(b)))
        for key in ('loss', 'accuracy', 'val_loss', 'val_accuracy'):
            worst = max(abs(x[key] - y[key]) for x, y in zip(a, b))
            check(worst < 1e-5, 'the %s curves match' % key, 'max |difference| %g' % worst)
        # every step's loss, from the run store entry that rank 0 alone wrote
        runs = subprocess.run([CLI, 'runs', 'list', '--runs-db', out('dist-runs.sqlite')],
                              stdout=subprocess.PIPE, text=True).stdout
        check(len([l for l in runs.splitlines()[1:] if l.strip()]) == 1,
              'one run store entry for the 2 ranks', runs)
        steps = []
        for db in ('single-runs.sqlite', 'dist-runs.sqlite'):
            csv = subprocess.run([CLI, 'runs', 'export', '1', '--format', 'steps-csv', '--runs-db', out(db)],
                                 stdout=subprocess.PIPE, text=True).stdout.splitlines()[1:]
            steps.append([float(line.split(',')[3]) for line in csv if line])
        check(len(steps[0]) == len(steps[1]) == 24, 'both run stores hold 24 steps',
              '%d, %d' % (len(steps[0]), len(steps[1])))
        worst = max((abs(x - y) for x, y in zip(*steps)), default=1.0)
        check(worst < 1e-5, 'the per-step loss curves match', 'max |difference| %g' % worst)

    # 1b. a last batch of one image: rank 0's slice is empty, rank 1's holds it
    tail = ['--epochs', '1', '--limit', '49', '--batch-size', '24', '--spec', SPEC, '--runs-db', out('runs.sqlite')]
    tail_single = train(data, tail + ['--save', out('tail-single.safetensors')])
    tail_dist = train(data, tail + ['--save', out('tail-dist.safetensors')], n=2)
    check(tail_single.returncode == 0 and tail_dist.returncode == 0, 'runs whose last batch is one image')
    if tail_single.returncode == 0 and tail_dist.returncode == 0:
        difference = max_difference(out('tail-single.safetensors'), out('tail-dist.safetensors'))
        check(difference < 2e-5, 'a rank without images in a step adds nothing',
              'max |difference| %g' % difference)

    # 2. the global batch per rank: 12 per rank on 2 ranks is the same run
    per_rank = train(data, ['--epochs', '3', '--batch-size-per-rank', '12', '--spec', SPEC,
                            '--runs-db', out('runs.sqlite'), '--save', out('per-rank.safetensors')], n=2)
    check(per_rank.returncode == 0, 'distributed run with --batch-size-per-rank')
    if per_rank.returncode == 0 and dist.returncode == 0:
        difference = max_difference(out('dist.safetensors'), out('per-rank.safetensors'))
        check(difference == 0.0, '--batch-size-per-rank 12 on 2 ranks is --batch-size 24',
              'max |difference| %g' % difference)

    # 3. BatchNorm, and a resumed distributed run
    bn = ['--batch-size', '32', '--spec', BN_SPEC, '--runs-db', out('runs.sqlite')]
    straight = train(data, bn + ['--epochs', '2', '--save', out('bn.safetensors')], n=2)
    check(straight.returncode == 0 and 'Weights identical on all 2 ranks at 2 of 2' in straight.stdout,
          'a BatchNorm model trains on 2 ranks with identical weights', straight.stdout[-500:])
    first = train(data, bn + ['--epochs', '1', '--checkpoint', out('bn-ckpt.safetensors')], n=2)
    check(first.returncode == 0 and os.path.exists(out('bn-ckpt.safetensors')),
          'rank 0 writes the checkpoint')
    resumed = train(data, ['--resume', out('bn-ckpt.safetensors'), '--epochs', '2',
                           '--runs-db', out('runs.sqlite'), '--save', out('bn-resumed.safetensors')], n=2)
    check(resumed.returncode == 0 and 'Resuming at epoch 2, step 0' in resumed.stdout,
          '--resume continues a distributed run', resumed.stdout[-500:])
    if straight.returncode == 0 and resumed.returncode == 0:
        difference = max_difference(out('bn.safetensors'), out('bn-resumed.safetensors'))
        check(difference < 1e-6, 'the resumed run ends with the uninterrupted run\'s weights',
              'max |difference| %g' % difference)

    # 4. a rank that dies, and one that stops answering
    # (far more epochs than the test waits for: 200 of this small set once
    # ended, on a fast engine, before the test had found rank 1 to stop it)
    long_run = ['--epochs', '20000', '--batch-size', '24', '--spec', SPEC, '--runs-db', out('runs.sqlite')]
    status, stderr, seconds = run_and_break(data, long_run, signal.SIGKILL)
    check(status is not None and status != 0,
          'a killed rank ends the job (exit %s after %.1f s)' % (status, seconds), stderr[-800:])
    # Either the survivor sees its collective fail and says why, or mpirun,
    # which noticed the death first, ends the survivor and says which rank
    # died: which one wins is a race, and both tell the user what happened.
    check('rank 0 of 2: mpirun is ending the job' in stderr or
          ('mpirun noticed that process rank 1' in stderr and 'signal 9' in stderr),
          'the survivor or mpirun says why the job ends', stderr[-800:])

    status, stderr, seconds = run_and_break(data, long_run + ['--mpi-timeout', '3'], signal.SIGSTOP)
    check(status is not None and status != 0,
          'a rank that stops answering ends the job (exit %s after %.1f s)' % (status, seconds), stderr[-800:])
    check('rank 0 of 2: MPI_Allreduce waited 3 s for the other ranks' in stderr,
          'the waiting rank says why it ends', stderr[-800:])

print('1..%d' % n_checks)
sys.exit(1 if failures else 0)
