#!/usr/bin/python3
"""Checks the table of model-file errors in docs/io.md (the rows after the line
`<!-- checked by tests/tools/check_io_errors.py -->`) against what the code prints: for each row
it makes the bad file the row names from a real model (decoding and re-encoding the .rg format
as docs/io.md describes it), runs `retrograd export --model m.rg`, and compares the message.

Numbers depend on the file (sizes, offsets, checksums), so every run of digits (and a hex
number) is compared as "a number"; the words, names and order must match exactly, and `...` in
the table stands for any text (a list the registries extend).

  check_io_errors.py --doc docs/io.md --retrograd CLI --model M.rg --workdir DIR
"""
import argparse
import copy
import os
import re
import struct
import subprocess
import sys
import zlib

MARKER = "<!-- checked by tests/tools/check_io_errors.py -->"


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


class Reader:
    """The payload's records (docs/io.md, "Records") as [key, tag, value] lists."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        value = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return value if len(value) > 1 else value[0]

    def text(self):
        n = self.take("I")
        self.at += n
        return self.data[self.at - n:self.at].decode()

    def record(self):
        fields = []
        for _ in range(self.take("I")):
            key, tag = self.text(), self.take("B")
            fields.append([key, tag, self.value(tag)])
        return fields

    def value(self, tag):
        if tag in (1, 2):
            return self.take("q" if tag == 1 else "d")
        if tag == 3:
            return self.text()
        if tag == 4:
            dims = [self.take("Q") for _ in range(self.take("B"))]
            count = 1
            for d in dims:
                count *= d
            values = list(struct.unpack_from(f"<{count}f", self.data, self.at))
            self.at += 4 * count
            return [dims, values]
        if tag in (5, 6):
            count = self.take("Q")
            return [self.take("Q" if tag == 5 else "d") for _ in range(count)]
        if tag == 7:
            return [self.record() for _ in range(self.take("I"))]
        fail(f"unknown tag {tag} at payload byte {self.at}")


def encode_text(text):
    data = text.encode()
    return struct.pack("<I", len(data)) + data


def encode_record(fields):
    out = struct.pack("<I", len(fields))
    for key, tag, value in fields:
        out += encode_text(key) + bytes([tag]) + encode_value(tag, value)
    return out


def encode_value(tag, value):
    if tag in (1, 2):
        return struct.pack("<q" if tag == 1 else "<d", value)
    if tag == 3:
        return encode_text(value)
    if tag == 4:
        dims, values = value
        return (bytes([len(dims)]) + b"".join(struct.pack("<Q", d) for d in dims)
                + struct.pack(f"<{len(values)}f", *values))
    if tag in (5, 6):
        return struct.pack("<Q", len(value)) + b"".join(
            struct.pack("<Q" if tag == 5 else "<d", v) for v in value)
    return struct.pack("<I", len(value)) + b"".join(encode_record(r) for r in value)


def file_bytes(payload, version=2):
    """Header, payload and checksum (docs/io.md, "The .rg format")."""
    body = b"RGMODEL\0" + struct.pack("<IQ", version, len(payload)) + payload
    return body + struct.pack("<I", zlib.crc32(body))


def field(fields, key):
    return next(f for f in fields if f[0] == key)


def second_layer(root):
    return field(field(root, "model")[2][0], "children")[2][1]


def bad_files(model_bytes):
    """Row name -> the bytes of m.rg for that row (None: no file at all)."""
    (size,) = struct.unpack_from("<Q", model_bytes, 12)
    root = Reader(model_bytes[20:20 + size]).record()
    if encode_record(root) != model_bytes[20:20 + size]:
        fail("the .rg codec of this check does not round-trip the model: update it to the format")
    files = {"missing": None, "empty": b"", "cut short": model_bytes[:600]}
    flipped = bytearray(model_bytes)
    flipped[len(flipped) // 2] ^= 0x10
    files["a changed byte"] = bytes(flipped)
    files["another kind of file"] = b"PK\x03\x04" + bytes(60)  # a zip archive's first bytes
    (version,) = struct.unpack_from("<I", model_bytes, 8)
    files["written by a newer library"] = file_bytes(encode_record(root), version + 1)

    inconsistent = copy.deepcopy(root)
    tensors = field(second_layer(inconsistent), "tensors")[2][0]
    dims, values = field(tensors, "b")[2]
    field(tensors, "b")[2] = [[dims[0] + 1], values + [0.0]]
    files["inconsistent content"] = file_bytes(encode_record(inconsistent))

    # The second layer's W claims 2^40 columns: more values than the file holds.
    payload = encode_record(root)
    W = field(field(second_layer(root), "tensors")[2][0], "W")[2][0]
    at = payload.find(struct.pack("<QQ", *W))
    payload = payload[:at] + struct.pack("<QQ", W[0], 1 << 40) + payload[at + 16:]
    files["a size the bytes cannot hold"] = file_bytes(payload)

    unknown = copy.deepcopy(root)
    field(second_layer(unknown), "type")[2] = "Conv9D"
    files["an unregistered layer type"] = file_bytes(encode_record(unknown))
    return files


def table(doc):
    """The checked table's rows: first column -> message."""
    with open(doc) as f:
        lines = f.read().split("\n")
    if MARKER not in lines:
        fail(f"{doc}: no line '{MARKER}'")
    rows = {}
    for line in lines[lines.index(MARKER) + 1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and cells[1].startswith("`"):
            rows[cells[0]] = cells[1].strip("`")
    return rows


def pattern(message):
    """The message with every number standing for any number and `...` for any text."""
    parts = re.split(r"(0x[0-9a-f]+|[0-9]+|\.\.\.)", message)
    regex = ""
    for i, part in enumerate(parts):
        if i % 2 == 0:
            regex += re.escape(part)
        else:
            regex += ".*?" if part == "..." else r"(0x[0-9a-f]+|[0-9]+)"
    return re.compile(regex + r"\Z")


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--doc", "--retrograd", "--model", "--workdir"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    with open(args.model, "rb") as f:
        files = bad_files(f.read())
    rows = table(args.doc)
    if sorted(rows) != sorted(files):
        fail(f"the table's rows {sorted(rows)} are not the cases this check makes {sorted(files)}")
    failed = 0
    for name, content in files.items():
        directory = os.path.join(args.workdir, re.sub(r"\W+", "_", name))
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "m.rg")
        if os.path.exists(path):
            os.remove(path)
        if content is not None:
            with open(path, "wb") as f:
                f.write(content)
        result = subprocess.run([args.retrograd, "export", "--model", "m.rg", "--output", "w.npz",
                                 "--overwrite"],
                                cwd=directory, capture_output=True, text=True)
        printed = result.stderr.strip().removeprefix("retrograd: error: ")
        if result.returncode == 0 or not pattern(rows[name]).match(printed):
            print(f"{name}:\n  the table: {rows[name]}\n  the code:  {printed}")
            failed += 1
        else:
            print(f"{name}: {printed}")
    if failed:
        fail(f"{failed} of {len(files)} rows of the table differ from the messages the code prints")
    print("error table check passed")


if __name__ == "__main__":
    main()
