#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""shrink_core.py CORE OUT - a small seed for fuzz_core from a real core file.

Keeps the ELF header and the notes (threads, mapped files); every PT_LOAD
that is not writable keeps its place in memory with no bytes in the file
(filesz 0: a tail the dumper left out); a writable one loses its leading
zero pages (a segment of its own, also with filesz 0), and when larger than
64 KiB (a thread's stack, a big mmap; never a heap of the seed target,
which the walker needs whole) its trailing zero pages too, or all its bytes
when more than 64 KiB are left.
"""
import struct
import sys

PT_LOAD, PT_NOTE, PF_W = 1, 4, 2
PAGE = 4096
BIG = 64 << 10


def main():
    raw = open(sys.argv[1], 'rb').read()
    ehdr = bytearray(raw[:64])
    phoff, = struct.unpack_from('<Q', raw, 32)
    phentsize, phnum = struct.unpack_from('<HH', raw, 54)
    out_ph = []        # (type, flags, vaddr, memsz, data, align)
    for i in range(phnum):
        t, fl, off, va, pa, fsz, msz, al = struct.unpack_from('<IIQQQQQQ', raw, phoff + i * phentsize)
        data = raw[off:off + fsz]
        if t != PT_LOAD:
            out_ph.append((t, fl, va, msz, data, al))
            continue
        if not (fl & PF_W):
            out_ph.append((t, fl, va, msz, b'', al))
            continue
        lead = 0
        while lead + PAGE <= len(data) and not any(data[lead:lead + PAGE]):
            lead += PAGE
        end = len(data)
        while msz > BIG and end - PAGE >= lead and not any(data[end - PAGE:end]):
            end -= PAGE
        if end - lead > BIG:
            end = lead
        if lead:
            out_ph.append((t, fl, va, lead, b'', al))
        out_ph.append((t, fl, va + lead, msz - lead, data[lead:end], al))
    off = 64 + 56 * len(out_ph)
    body, phdrs = b'', b''
    for t, fl, va, msz, data, al in out_ph:
        phdrs += struct.pack('<IIQQQQQQ', t, fl, off + len(body), va, 0, len(data), msz, al)
        body += data
    struct.pack_into('<Q', ehdr, 32, 64)
    struct.pack_into('<HH', ehdr, 54, 56, len(out_ph))
    struct.pack_into('<Q', ehdr, 40, 0)     # no section headers
    struct.pack_into('<HHH', ehdr, 58, 64, 0, 0)
    open(sys.argv[2], 'wb').write(bytes(ehdr) + phdrs + body)


main()
