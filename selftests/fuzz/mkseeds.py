#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Regenerate the hand-made seeds in corpus/ (layout: see ring_fuzz.c).
# Ring of 8 at guest 0x0 (desc), 0x1000 (avail), 0x2000 (used); one
# region maps guest pages 0-15 onto the whole fuzzer buffer.
import os
import struct

OPS_GET, OPS_USED, OPS_EN, OPS_DIS, OPS_SIG, OPS_DISCARD = 0, 3, 4, 5, 6, 7


def seed(chains, descs, extra=b'', flags=3, regions=((0, 16, 0),), ops=None,
         taddr=0x3000, tlen=100):
    hdr = struct.pack('<BBBBHHHHQI', flags, 3,
                      len(regions), 15, 0, 0, 0x1000 // 2, 0x2000 // 4,
                      taddr, tlen)
    hdr += b''.join(struct.pack('<IHH', *r) for r in regions)
    if ops is None:
        ops = [OPS_GET, OPS_GET, OPS_USED | 8, OPS_EN, OPS_DIS, OPS_SIG,
               OPS_GET, OPS_DISCARD, OPS_GET]
    hdr += bytes(ops + [OPS_SIG] * (32 - len(ops)))
    mem = bytearray(0x7000)
    for i, (addr, ln, fl, nxt) in enumerate(descs):
        struct.pack_into('<QIHH', mem, i * 16, addr, ln, fl, nxt)
    struct.pack_into('<HH', mem, 0x1000, 0, len(chains))
    for i, h in enumerate(chains):
        struct.pack_into('<H', mem, 0x1004 + 2 * i, h)
    mem[0x3000:0x3000 + len(extra)] = extra
    return hdr + bytes(mem)


NEXT, WRITE, INDIRECT = 1, 2, 4
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
seeds = {
    'valid-chain': seed([0], [(0x4000, 64, NEXT, 1), (0x5000, 128, WRITE, 0)]),
    'indirect-chain': seed([0], [(0x3000, 48, INDIRECT, 0)], extra=b''.join(
        struct.pack('<QIHH', *d) for d in
        [(0x4000, 16, NEXT, 1), (0x4800, 16, NEXT, 2),
         (0x5000, 64, WRITE, 0)])),
    'loop': seed([0], [(0x4000, 64, NEXT, 1), (0x5000, 64, NEXT, 0)]),
    'two-regions': seed([0, 1], [(0x4000, 0x2000, 0, 0), (0x5800, 8, 0, 0)],
                        regions=((0, 5, 0), (5, 11, 5)), taddr=0x4800,
                        tlen=0x1000),
    'legacy-no-event-idx': seed([1, 0], [(0x4000, 1, 0, 0),
                                         (0x5000, 1, WRITE, 0)], flags=4),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        # The guest buffer is zero past the input: drop trailing zeros.
        f.write(data.rstrip(b'\0'))
