#!/usr/bin/env python3
"""Builds a local wheelhouse for the seed example: one small pure-Python wheel, `textstats`.

A wheel is a zip file with metadata, so the standard library can make one. Real projects
point --find-links at a directory of wheels their build system produced (`pip wheel -r
requirements.txt -w wheels/` on a machine with an index), or let pip use its index instead.

    python3 examples/seed/make_wheelhouse.py DIR
"""
import base64
import hashlib
import pathlib
import sys
import zipfile

NAME, VERSION = "textstats", "1.0"

MODULE = '''"""Word statistics for a text: the seed example's dependency."""
import collections
import re

__version__ = "%s"


def word_counts(text):
    return collections.Counter(re.findall(r"[a-z']+", text.lower()))


def summary(text, top=3):
    counts = word_counts(text)
    common = ", ".join(f"{w} ({n})" for w, n in counts.most_common(top))
    return f"{sum(counts.values())} words, {len(counts)} distinct; most common: {common}"
''' % VERSION


def build(out_dir):
    info = f"{NAME}-{VERSION}.dist-info"
    files = {
        f"{NAME}/__init__.py": MODULE,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
                            "Summary: Word statistics (nsbox seed example)\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: nsbox-seed\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for path, text in files.items():
            z.writestr(path, text)
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_wheelhouse.py DIR")
    print(build(sys.argv[1]))
