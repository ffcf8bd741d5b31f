#!/usr/bin/env python3
"""Attributes perf samples of the load bench to the stages of a guarded read (bench/README.md).

usage: bench/profile/perf-stages.py OUT.data [...]

Each sample goes to the stage of the innermost frame of its call chain that matches a pattern below (first pattern
wins for that frame); samples with no matching frame are split by where their leaf is (kernel, libcrypto, ...).
Native libraries without frame pointers (SQLite, OpenSSL, libc) break some chains: their samples land in the "other"
rows, so the ledger writer's SQLite and file-write time is partly there; the kernel split below names it.
Multiply a stage's share by the phase's "CPU µs / request" to get µs per request.
"""
import collections
import re
import subprocess
import sys

STAGES = [
    (r'SqliteAccessLedger\+Pending|LeafCodec', 'ledger: encode + hash (caller)'),
    (r'SqliteAccessLedger|WriterConnection|walChecksum', 'ledger: writer (SQLite insert, commit)'),
    (r'Custodian\.Monitoring\.AccessMonitor|Custodian\.Monitoring\.Detection|DistinctSubjectsDetector|Custodian\.Events', 'monitor (consume, detectors)'),
    (r'SuspensionRegistry', 'policy: suspensions'),
    (r'FieldCipher|SubscriberVault|Custodian\.Protection\.Keys', 'vault: read row + decrypt'),
    (r'MaskingPolicy|Custodian\.Protection\.Masking|PhoneNumbers', 'mask'),
    (r'LookupGuard|AccessRecorder|PurposeCatalog', 'guard: policy, handles, entry'),
    (r'SessionStore|RequireSessionAsync|StaffSession', 'session'),
    (r'DeviceGatewayMiddleware|CertificateAuthority|TerminalRegistry|NetworkPolicy|RequestLimits|StaffDirectory', 'gateway: device, network, standing'),
    (r'BaselineApi', 'baseline endpoint'),
    (r'System\.Text\.Json|HttpResults|ProblemMiddleware|RequestDelegateFactory', 'JSON + result'),
    (r'Custodian\.Bench|System\.Net\.Http\.', 'load driver (HttpClient)'),
    (r'SslStream|libssl|Interop\+Ssl', 'TLS'),
    (r'Kestrel|Microsoft\.AspNetCore|System\.IO\.Pipelines', 'ASP.NET Core, Kestrel'),
    (r'System\.Net\.Sockets|tcp_|sock_|__sys_sendto|__sys_recvfrom', 'sockets'),
    (r'sched_yield|LowLevelLifoSemaphore|PortableThreadPool|ThreadPoolWorkQueue::Dispatch|futex|finish_task_switch|schedule', 'thread pool, context switches'),
]
KERNEL = [
    (r'finish_task_switch', 'context switch'), (r'fsync|ext4_sync', 'fsync'),
    (r'pwrite|vfs_write|generic_perform_write', 'file write'), (r'pread|vfs_read|filemap_read', 'file read'),
    (r'sched_yield', 'sched_yield'), (r'futex', 'futex'), (r'tcp_|sock_|__sys_sendto|__sys_recvfrom|net_rx', 'tcp'),
]
STAGES = [(re.compile(p), s) for p, s in STAGES]
KERNEL = [(re.compile(p), s) for p, s in KERNEL]


def main():
    stages, kernel, total = collections.Counter(), collections.Counter(), 0
    for path in sys.argv[1:]:
        text = subprocess.run(['perf', 'script', '-i', path, '-F', 'ip,sym,dso'], capture_output=True, text=True, check=True).stdout
        for block in text.split('\n\n'):
            frames = [line.strip() for line in block.strip().split('\n') if line.strip()]
            if not frames:
                continue
            total += 1
            stage = next((s for f in frames for rx, s in STAGES if rx.search(f)), None)
            if stage is None:
                leaf = frames[0]
                where = next((w for w in ('libcoreclr', 'kernel', 'libcrypto', 'sqlite', 'libc') if w in leaf), 'other')
                stage = 'other: ' + where
            stages[stage] += 1
            kernel[next((s for rx, s in KERNEL if rx.search(block)), 'user or other kernel')] += 1
    print(f'{total} samples')
    for name, n in stages.most_common():
        print(f'{100 * n / total:6.1f}%  {name}')
    print('by kernel activity anywhere in the chain:')
    for name, n in kernel.most_common():
        print(f'{100 * n / total:6.1f}%  {name}')


if __name__ == '__main__':
    main()
