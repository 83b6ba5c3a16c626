#!/usr/bin/env python3
"""Regenerates link/hot-functions.txt: the functions actgate's session
worker runs on every statement, hottest first, which build.rs asks the
linker to place side by side in release builds.

    BIN=target/release/actgate scripts/hot-functions.py

It runs benches/instructions.sh over the whole process (one client, -S,
simple and extended mode, BIN under valgrind's callgrind), recording which
instructions run and how often, keeps those run at least once per four
audited statements, and lists the functions (symbols of BIN, mangled) that hold
them. The login's hashing (SCRAM) runs thousands of times per login and is
left out. Symbols carry a hash of the crate's build metadata (the compiler,
the dependencies' versions and the profile's settings, debug info
included): BIN must be built as releases are (`cargo build --release`,
no RUSTFLAGS), and a new compiler or dependency version renames them, the
linker then ignoring the stale names (no error, no ordering): run this
again after either.
Needs what benches/instructions.sh needs."""
import bisect, collections, glob, os, re, shutil, subprocess, sys, tempfile

LOGIN = ('sha2', 'hmac', 'sasl', 'pbkdf2', 'digest')


def die(msg):
    sys.exit(f'hot-functions.py: {msg}')


def run_modes(repo, binary, out):
    """Runs benches/instructions.sh over the whole process, recording which
    instructions run; yields (callgrind file, statements) per mode."""
    env = dict(os.environ, BIN=binary, OUT=out, COLLECT='process',
               DURATION=os.environ.get('DURATION', '4'),
               CALLGRIND_ARGS='--dump-instr=yes --compress-pos=no --compress-strings=no')
    run = subprocess.run(['bash', f'{repo}/benches/instructions.sh'], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if run.returncode != 0:
        die(f'instructions.sh failed:\n{run.stdout[-3000:]}')
    for mode, statements in re.findall(r'^(\w+) +\d+ instructions, +(\d+) statements',
                                       run.stdout, re.M):
        files = glob.glob(f'{out}/callgrind.{mode}.*')
        if not files:
            die(f'no callgrind file for {mode} mode in {out}')
        yield files[0], int(statements)


def executions(path, binary):
    """Times each instruction address of `binary` ran."""
    counts = collections.Counter()
    ob, call = None, False
    with open(path) as f:
        for line in f:
            if line.startswith('ob='):
                ob = line[3:].strip()
            elif line.startswith('calls='):
                call = True
            elif line.startswith('0x'):
                # (the line after calls= is the call's inclusive cost: the
                # call instruction itself ran once per call)
                parts = line.split()
                if ob == binary:
                    counts[int(parts[0], 16)] += 1 if call else int(parts[-1])
                call = False
    return counts


def symbols(binary):
    """(start, size, mangled name) of BIN's functions, by address."""
    nm = subprocess.run(['nm', '-S', '--defined-only', binary],
                        capture_output=True, text=True, check=True).stdout
    syms = []
    for line in nm.splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in 'tTwW':
            syms.append((int(p[0], 16), int(p[1], 16), p[3]))
    return sorted(syms)


def main():
    binary = os.path.realpath(os.environ.get('BIN') or die('BIN must name an actgate binary'))
    repo = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    syms = symbols(binary)
    starts = [s[0] for s in syms]
    heat = collections.Counter()
    out = tempfile.mkdtemp(prefix='actgate-hot.')
    for path, statements in run_modes(repo, binary, out):
        for addr, n in executions(path, binary).items():
            if n * 4 < statements:
                continue
            i = bisect.bisect_right(starts, addr) - 1
            if i >= 0 and addr < syms[i][0] + syms[i][1]:
                heat[syms[i][2]] += n
    shutil.rmtree(out)
    names = [n for n, _ in heat.most_common() if not any(w in n for w in LOGIN)]
    if not names:
        die('no hot function found')
    target = os.path.join(repo, 'link', 'hot-functions.txt')
    with open(target, 'w') as f:
        f.write('\n'.join(names) + '\n')
    listed = set(names)
    size = sum(s[1] for s in syms if s[2] in listed)
    print(f'{target}: {len(names)} functions, {size} bytes')


main()
