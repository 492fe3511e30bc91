#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hostile_elf.py - write crafted ELF shared objects for the hostile_*.test.

  hostile_elf.py NSYMS NAMELEN OUT
  hostile_elf.py objects NSYMS OUT

One PT_LOAD at offset 0 (so a read-only mapping of the file at offset 0 is
its module), a .symtab of NSYMS function symbols at distinct addresses that
all name the same string of NAMELEN bytes in .strtab: NSYMS x NAMELEN bytes of names from a
file of NSYMS x 24 + NAMELEN bytes. With "objects": NSYMS data objects
obj_0, obj_1... of 8 bytes, 16 bytes apart from file offset 64 on.
"""
import struct
import sys

EHDR = struct.Struct('<16sHHIQQQIHHHHHH')
PHDR = struct.Struct('<IIQQQQQQ')
SHDR = struct.Struct('<IIQQQQIIQQ')
SYM = struct.Struct('<IBBHQQ')
SHT_SYMTAB, SHT_STRTAB, SHT_PROGBITS = 2, 3, 1
STT_FUNC, STT_OBJECT, STB_GLOBAL = 2, 1, 1
OBJECTS_AT, OBJECTS_STRIDE = 64, 16


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    objects = sys.argv[1] == 'objects'
    if objects:
        nsyms, namelen, out = int(sys.argv[2]), 0, sys.argv[3]
        names = [b'obj_%d' % i for i in range(nsyms)]
        strtab = b'\0' + b'\0'.join(names) + b'\0'
        name_off = [0] * nsyms
        at = 1
        for i, n in enumerate(names):
            name_off[i] = at
            at += len(n) + 1
    else:
        nsyms, namelen, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
        strtab = b'\0' + b'_' * namelen + b'\0'
    shstrtab = b'\0.text\0.symtab\0.strtab\0.shstrtab\0'
    text_off = EHDR.size + PHDR.size
    text = b'\xc3' * 16
    syms = SYM.pack(0, 0, 0, 0, 0, 0)
    body = bytearray(text)
    symtab_off = text_off + len(body)
    body += syms
    for i in range(nsyms):
        if objects:
            body += SYM.pack(name_off[i], (STB_GLOBAL << 4) | STT_OBJECT, 0, 1,
                             OBJECTS_AT + OBJECTS_STRIDE * i, 8)
        else:
            # distinct addresses: the reader cannot fold them into one symbol
            body += SYM.pack(1, (STB_GLOBAL << 4) | STT_FUNC, 0, 1, text_off + i, 1)
    strtab_off = text_off + len(body)
    body += strtab
    shstr_off = text_off + len(body)
    body += shstrtab
    while (text_off + len(body)) % 8:
        body += b'\0'
    shoff = text_off + len(body)
    size = shoff + 5 * SHDR.size
    shdrs = [
        SHDR.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        SHDR.pack(1, SHT_PROGBITS, 6, text_off, text_off, len(text), 0, 0, 16, 0),
        SHDR.pack(7, SHT_SYMTAB, 0, 0, symtab_off, SYM.size * (nsyms + 1), 3, 1, 8, SYM.size),
        SHDR.pack(15, SHT_STRTAB, 0, 0, strtab_off, len(strtab), 0, 0, 1, 0),
        SHDR.pack(23, SHT_STRTAB, 0, 0, shstr_off, len(shstrtab), 0, 0, 1, 0),
    ]
    eh = EHDR.pack(b'\x7fELF\x02\x01\x01' + bytes(9), 3, 62, 1, 0, EHDR.size, shoff, 0,
                   EHDR.size, PHDR.size, 1, SHDR.size, 5, 4)
    ph = PHDR.pack(1, 5, 0, 0, 0, size, size, 4096)
    with open(out, 'wb') as f:
        f.write(eh + ph + bytes(body) + b''.join(shdrs))


main()
