#!/usr/bin/env python3
"""Turns a file into a C source defining `const char NAME[]` and `NAME_len`.

Used by meson to compile the OpenAPI document into the binary.
usage: embed.py NAME INPUT OUTPUT
"""
import sys

name, src, dst = sys.argv[1:4]
data = open(src, "rb").read()
with open(dst, "w") as out:
    out.write("/* Generated from %s by scripts/embed.py; do not edit. */\n" % src.split("/")[-1])
    out.write("#include <stddef.h>\n")
    out.write("extern const char %s[];\nextern const size_t %s_len;\n" % (name, name))
    out.write("const char %s[] = {\n" % name)
    for i in range(0, len(data), 16):
        out.write("    " + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",\n")
    out.write("    0x00\n};\n")
    out.write("const size_t %s_len = %d;\n" % (name, len(data)))
