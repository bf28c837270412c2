#!/usr/bin/env python3
"""Fail if a .wasm module imports anything from module "env".

Such imports (e.g. env.rustsecp256k1_v0_*) mean a C dependency was compiled
for the host instead of wasm32: the module builds but fails to instantiate.
Prints the import modules found; exit 1 on an `env` import or a bad file.
"""
import sys


def leb(buf, i):
    result = shift = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def imports(path):
    data = open(path, "rb").read()
    if data[:4] != b"\0asm":
        raise SystemExit(f"{path}: not a wasm module")
    i, found = 8, []
    while i < len(data):
        sid = data[i]
        size, i = leb(data, i + 1)
        end = i + size
        if sid == 2:  # import section
            count, j = leb(data, i)
            for _ in range(count):
                n, j = leb(data, j)
                mod = data[j:j + n].decode()
                j += n
                n, j = leb(data, j)
                name = data[j:j + n].decode()
                j += n
                kind = data[j]
                j += 1
                if kind == 0:
                    _, j = leb(data, j)
                elif kind == 1:
                    j += 1
                    flags, j = leb(data, j)
                    _, j = leb(data, j)
                    if flags & 1:
                        _, j = leb(data, j)
                elif kind == 2:
                    flags, j = leb(data, j)
                    _, j = leb(data, j)
                    if flags & 1:
                        _, j = leb(data, j)
                elif kind == 3:
                    j += 2
                else:
                    _, j = leb(data, j)
                found.append((mod, name))
        i = end
    return found


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: check-wasm-imports.py FILE.wasm")
    found = imports(sys.argv[1])
    mods = sorted({m for m, _ in found})
    bad = [n for m, n in found if m == "env"]
    print(f"[wasm] {sys.argv[1]}: {len(found)} imports from {mods or 'no module'}", file=sys.stderr)
    if bad:
        print(f"[wasm] ERROR: imports from module env: {bad[:10]}", file=sys.stderr)
        print("[wasm] C code was compiled for the wrong target: see .cargo/config.toml", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
