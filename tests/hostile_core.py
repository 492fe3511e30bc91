#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hostile_core.py - write crafted ELF core files for hostile_core.test.

  hostile_core.py tls0 IN OUT       IN (a real core) plus a PT_LOAD at address
                                    0 (the file's first page), every thread's
                                    fs_base set to 16: the TLS scan below
                                    fs_base must not wrap
  hostile_core.py unaligned IN OUT  IN with every writable PT_LOAD moved to
                                    start 8 bytes in and end 3 bytes early
                                    (regions not 16-, not even 8-aligned)
  hostile_core.py hugedata IN OUT   IN with the anonymous writable segment that
                                    follows libc's file mappings (its .bss)
                                    grown to 16 TiB, of which nothing is in
                                    the file, and the NT_FILE entries above
                                    it emptied (so it stays one mapping):
                                    scans of libc's data must skip what was
                                    not captured
  hostile_core.py files N M OUT     a core of N empty PT_LOAD segments and one
                                    NT_FILE note of M entries that each cover
                                    every segment (overlapping ranges)
"""
import struct
import sys

EHDR = struct.Struct('<16sHHIQQQIHHHHHH')
PHDR = struct.Struct('<IIQQQQQQ')
PT_LOAD, PT_NOTE = 1, 4
PF_R, PF_W = 4, 2
NT_PRSTATUS, NT_FILE = 1, 0x46494c45
PRSTATUS_FS_BASE = 112 + 21 * 8     # pr_reg at 112; fs_base is register 21


def read_core(path):
    data = bytearray(open(path, 'rb').read())
    eh = list(EHDR.unpack_from(data, 0))
    phoff, phnum = eh[5], eh[10]
    if phnum == 0xffff:
        sys.exit('hostile_core.py: cores with extended segment counts are not handled')
    phs = [list(PHDR.unpack_from(data, phoff + i * PHDR.size)) for i in range(phnum)]
    return data, eh, phs


def write_core(path, data, eh, phs):
    """Append the (new) program header table at the end of data."""
    while len(data) % 8:
        data.append(0)
    eh[5] = len(data)
    eh[10] = len(phs)
    for ph in phs:
        data += PHDR.pack(*ph)
    EHDR.pack_into(data, 0, *eh)
    open(path, 'wb').write(data)


def notes(data, ph):
    """(type, desc offset, desc size) of each note of a PT_NOTE segment."""
    pos, end = ph[2], ph[2] + ph[5]
    while pos + 12 <= end:
        namesz, descsz, ntype = struct.unpack_from('<III', data, pos)
        desc = pos + 12 + ((namesz + 3) & ~3)
        yield ntype, desc, descsz
        pos = desc + ((descsz + 3) & ~3)


def tls0(src, dst):
    data, eh, phs = read_core(src)
    for ph in phs:
        if ph[0] != PT_NOTE:
            continue
        for ntype, desc, descsz in notes(data, ph):
            if ntype == NT_PRSTATUS and descsz >= PRSTATUS_FS_BASE + 8:
                struct.pack_into('<Q', data, desc + PRSTATUS_FS_BASE, 16)
    # its bytes are the file's first page: the byte before them is before
    # the reader's mapping of the file, a read there faults
    phs.append([PT_LOAD, PF_R | PF_W, 0, 0, 0, 4096, 4096, 4096])
    write_core(dst, data, eh, phs)


def nt_files(data, phs):
    """(offset of its start, end, file offset triple; start, end, path) of
    each NT_FILE entry."""
    for ph in phs:
        if ph[0] != PT_NOTE:
            continue
        for ntype, desc, descsz in notes(data, ph):
            if ntype != NT_FILE:
                continue
            count, _ = struct.unpack_from('<QQ', data, desc)
            names = data[desc + 16 + 24 * count:desc + descsz].split(b'\0')
            for i in range(count):
                at = desc + 16 + 24 * i
                start, end, _ = struct.unpack_from('<QQQ', data, at)
                yield at, start, end, names[i].decode('utf-8', 'replace')


def hugedata(src, dst):
    data, eh, phs = read_core(src)
    libc_ends = {end for _, start, end, path in nt_files(data, phs)
                 if path.endswith('/libc.so.6')}
    grown = 0
    for ph in phs:
        if ph[0] == PT_LOAD and ph[1] & PF_W and ph[3] in libc_ends:
            ph[6] = 1 << 44     # p_memsz; p_filesz unchanged
            grown += 1
    if not grown:
        sys.exit('hostile_core.py: no anonymous segment after libc in ' + src)
    above = max(libc_ends)
    for at, start, _, _ in nt_files(data, phs):
        if start >= above:
            struct.pack_into('<QQQ', data, at, 0, 0, 0)
    write_core(dst, data, eh, phs)


def unaligned(src, dst):
    data, eh, phs = read_core(src)
    for ph in phs:
        if ph[0] == PT_LOAD and ph[1] & PF_W and ph[5] > 16:
            ph[2] += 8          # p_offset
            ph[3] += 8          # p_vaddr
            ph[4] += 8          # p_paddr
            ph[5] -= 11         # p_filesz
            ph[6] -= 8          # p_memsz
    write_core(dst, data, eh, phs)


def files(nseg, nfiles, dst):
    base, page = 0x10000, 0x1000
    names = b'/nonexistent/a\0' * nfiles
    desc = struct.pack('<QQ', nfiles, page)
    desc += struct.pack('<QQQ', 0, base + nseg * page, 0) * nfiles
    desc += names
    note = struct.pack('<III', 5, len(desc), NT_FILE) + b'CORE\0\0\0\0' + desc
    while len(note) % 4:
        note += b'\0'
    phoff = EHDR.size
    noteoff = phoff + (nseg + 1) * PHDR.size
    phs = [[PT_NOTE, 0, noteoff, 0, 0, len(note), 0, 4]]
    for k in range(nseg):
        phs.append([PT_LOAD, PF_R | PF_W, noteoff + len(note), base + k * page, 0, 0, page, page])
    eh = [b'\x7fELF\x02\x01\x01' + bytes(9), 4, 62, 1, 0, phoff, 0, 0, EHDR.size,
          PHDR.size, len(phs), 64, 0, 0]
    out = bytearray(EHDR.pack(*eh))
    for ph in phs:
        out += PHDR.pack(*ph)
    out += note
    open(dst, 'wb').write(out)


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == 'tls0':
        tls0(a[1], a[2])
    elif len(a) == 3 and a[0] == 'hugedata':
        hugedata(a[1], a[2])
    elif len(a) == 3 and a[0] == 'unaligned':
        unaligned(a[1], a[2])
    elif len(a) == 4 and a[0] == 'files':
        files(int(a[1]), int(a[2]), a[3])
    else:
        sys.exit(__doc__)


main()
