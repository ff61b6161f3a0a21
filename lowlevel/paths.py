"""Resolve a container path inside a root without ever leaving it (the CVE-2021-30465 class).

``secure_join("/b/rootfs", "/etc/../x/link")`` walks the path one component at
a time; ``..`` stops at the root and a symlink is read and followed as if the
root were ``/``.  The result is a host path inside root (it may not exist yet).
"""
import os

MAX_LINKS = 255


def secure_join(root, unsafe):
    root = os.path.abspath(root)
    parts = [p for p in unsafe.split("/") if p]
    resolved = []          # components below root, all known to be real directories or absent
    links = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            st_link = os.path.islink(candidate)
        except OSError:
            st_link = False
        if not st_link:
            resolved.append(part)
            continue
        links += 1
        if links > MAX_LINKS:
            raise OSError(40, "resolve %s in %s: too many levels of symbolic links" % (unsafe, root))
        target = os.readlink(candidate)
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p] + parts
    return os.path.join(root, *resolved)


def within(root, path):
    """True when path is root or below it (both absolute, normalised)."""
    root = os.path.abspath(root)
    path = os.path.abspath(path)
    return path == root or path.startswith(root.rstrip("/") + "/")
