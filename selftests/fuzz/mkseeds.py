#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Regenerate the hand-made seeds in corpus/ (layout: see ring_fuzz.c).
# Ring of 8 at guest 0x0 (desc), 0x1000 (avail), 0x2000 (used), split or
# packed (pseed: driver and device event areas at 0x1000 and 0x2000); one
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


def pseed(descs, base=0x8000, extra=b'', flags=0x0b, ops=None):
    """A packed ring of 8: descs are (slot, addr, len, id, flags)."""
    hdr = struct.pack('<BBBBHHHHQI', flags, 3, 1, 15, base, 0,
                      0x1000 // 2, 0x2000 // 4, 0x3000, 100)
    hdr += struct.pack('<IHH', 0, 16, 0)
    if ops is None:
        ops = [OPS_GET, OPS_GET, OPS_USED | 8, OPS_EN, OPS_DIS, OPS_SIG,
               OPS_GET, OPS_DISCARD, OPS_GET, OPS_USED, OPS_SIG]
    hdr += bytes(ops + [OPS_SIG] * (32 - len(ops)))
    mem = bytearray(0x7000)
    for slot, addr, ln, i, fl in descs:
        struct.pack_into('<QIHH', mem, slot * 16, addr, ln, i, fl)
    # Driver event area: interrupt at descriptor 1 of lap 1 (DESC).
    struct.pack_into('<HH', mem, 0x1000, 1 | 0x8000, 2)
    mem[0x3000:0x3000 + len(extra)] = extra
    return hdr + bytes(mem)


NEXT, WRITE, INDIRECT = 1, 2, 4
AVAIL1, AVAIL0 = 1 << 7, 1 << 15
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
    'packed-chain': pseed([(0, 0x4000, 64, 3, NEXT | AVAIL1),
                           (1, 0x5000, 128, 3, WRITE | AVAIL1),
                           (2, 0x5800, 8, 5, AVAIL1)]),
    'packed-indirect': pseed([(0, 0x3000, 48, 1, INDIRECT | AVAIL1)],
                             extra=b''.join(
        struct.pack('<QIHH', *d) for d in
        [(0x4000, 16, 0, 0), (0x4800, 16, 0, 0), (0x5000, 64, 0, WRITE)])),
    # A chain across the end of the ring: slots 6, 7 in lap 1, 0 in lap 0.
    'packed-wrap': pseed([(6, 0x4000, 64, 2, NEXT | AVAIL1),
                          (7, 0x4800, 64, 2, NEXT | AVAIL1),
                          (0, 0x5000, 64, 2, WRITE | AVAIL0)],
                         base=0x8006),
    'packed-too-long': pseed([(i, 0x4000, 8, 0, NEXT | AVAIL1)
                              for i in range(8)]),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        # The guest buffer is zero past the input: drop trailing zeros.
        f.write(data.rstrip(b'\0'))
