#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""elf_edit.py - read and damage ELF files for the tests (64-bit little-endian).

  elf_edit.py extent CORE          print where CORE's program headers start
                                   and where the contents of its PT_LOAD
                                   segments end (the furthest one's last
                                   byte + 1): "PHOFF DATA_END"
  elf_edit.py damage CORE PREFIX   write PREFIX.NAME, one copy of CORE per
                                   kind of damage (a header field, a segment,
                                   a note, the NT_FILE note made to lie or to
                                   point outside the file), and print the
                                   NAMEs written
  elf_edit.py replace IN OUT OLD NEW
                                   write OUT, IN with every OLD (bytes, as
                                   text) replaced by NEW of the same length,
                                   e.g. a library's version banner; exit 1 if
                                   IN has no OLD
"""
import struct
import sys

E_PHOFF, E_PHNUM = 32, 56                     # in the ELF header
PHDR_SIZE = 56
P_TYPE, P_OFFSET, P_VADDR, P_FILESZ = 0, 8, 16, 32   # in a program header
PT_LOAD, PT_NOTE = 1, 4
NT_FILE = 0x46494c45
NOTE_HEADER = struct.Struct('<III')           # namesz, descsz, type


def u(fmt, data, off):
    return struct.unpack_from(fmt, data, off)[0]


def program_headers(data):
    """The offset of each program header."""
    phoff, phnum = u('<Q', data, E_PHOFF), u('<H', data, E_PHNUM)
    return [phoff + PHDR_SIZE * i for i in range(phnum)]


def loads_with_contents(data):
    return [ph for ph in program_headers(data)
            if u('<I', data, ph + P_TYPE) == PT_LOAD and u('<Q', data, ph + P_FILESZ) > 0]


def extent(core):
    data = open(core, 'rb').read()
    end = max([u('<Q', data, ph + P_OFFSET) + u('<Q', data, ph + P_FILESZ)
               for ph in loads_with_contents(data)], default=0)
    print(u('<Q', data, E_PHOFF), end)


def notes(data, start, size):
    """(type, desc offset, desc size) of each note in [start, start + size)."""
    pos, end = start, start + size
    while pos + NOTE_HEADER.size <= end:
        namesz, descsz, ntype = NOTE_HEADER.unpack_from(data, pos)
        desc = pos + NOTE_HEADER.size + ((namesz + 3) & ~3)
        yield ntype, desc, descsz
        pos = desc + ((descsz + 3) & ~3)


def damage(core, prefix):
    data = bytearray(open(core, 'rb').read())
    size = len(data)
    cases = {}

    def case(name, off, fmt, val):
        c = bytearray(data)
        struct.pack_into(fmt, c, off, val)
        cases[name] = c

    loads = loads_with_contents(data)
    note = [ph for ph in program_headers(data) if u('<I', data, ph + P_TYPE) == PT_NOTE][0]
    case('phnum', E_PHNUM, '<H', 0xfff0)
    case('phoff', E_PHOFF, '<Q', size - 10)
    case('load_offset', loads[-1] + P_OFFSET, '<Q', size - 16)
    case('load_filesz', loads[0] + P_FILESZ, '<Q', 1 << 60)
    case('load_wrap', loads[0] + P_VADDR, '<Q', 0xfffffffffffff000)
    case('note_filesz', note + P_FILESZ, '<Q', size)
    noff, nsize = u('<Q', data, note + P_OFFSET), u('<Q', data, note + P_FILESZ)
    case('note_namesz', noff, '<I', 0xfffffff0)
    case('note_descsz', noff + 4, '<I', 0x7ffffff0)
    # NT_FILE (count, page size, count triples, then the names): a count
    # too big for the note, a page size that is not one, names unterminated
    for ntype, desc, descsz in notes(data, noff, nsize):
        if ntype != NT_FILE:
            continue
        case('ntfile_count', desc, '<Q', 1 << 40)
        case('ntfile_pagesize', desc + 8, '<Q', 3)
        c = bytearray(data)
        names = desc + 16 + 24 * u('<Q', data, desc)
        for k in range(names, desc + descsz):
            if c[k] == 0:
                c[k] = ord('A')
        cases['ntfile_unterminated'] = c
    for name, c in cases.items():
        open(prefix + '.' + name, 'wb').write(c)
    print(' '.join(cases))


def replace(src, dst, old, new):
    old, new = old.encode(), new.encode()
    if len(old) != len(new):
        sys.exit('elf_edit.py replace: "%s" and "%s" differ in length: offsets in %s would move'
                 % (old.decode(), new.decode(), src))
    data = open(src, 'rb').read()
    if old not in data:
        sys.exit('elf_edit.py replace: no "%s" in %s' % (old.decode(), src))
    open(dst, 'wb').write(data.replace(old, new))


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == 'extent':
        extent(a[1])
    elif len(a) == 3 and a[0] == 'damage':
        damage(a[1], a[2])
    elif len(a) == 5 and a[0] == 'replace':
        replace(*a[1:])
    else:
        sys.exit(__doc__)


main()
