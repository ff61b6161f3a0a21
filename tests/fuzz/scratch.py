"""A scratch root per fuzzing process, and the check that nothing outside it changed.

``Scratch()`` makes ``<tmp>/gantry-fuzz-*/`` holding ``outside/`` (a sentinel tree
that inputs aim at with ``..``, absolute names and symlinks) and whatever the
target adds.  ``tree(path)`` is a fingerprint of everything under a path (names,
types, modes, owners, sizes, mtimes, contents, link targets, xattrs), so
``assert tree(p) == before`` says nothing was created, changed or deleted there.
"""
import atexit
import hashlib
import os
import shutil
import stat
import tempfile


def tree(path):
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in [""] + sorted(dirnames + filenames):
            p = os.path.join(dirpath, name) if name else dirpath
            if not name and dirpath != path:
                continue   # each directory is recorded once, as an entry of its parent
            st = os.lstat(p)
            rel = os.path.relpath(p, path)
            item = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size,
                    st.st_mtime_ns, st.st_nlink)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    item += (hashlib.sha256(f.read()).hexdigest(),)
            elif stat.S_ISLNK(st.st_mode):
                item += (os.readlink(p),)
            try:
                xattrs = sorted((k, os.getxattr(p, k, follow_symlinks=False))
                                for k in os.listxattr(p, follow_symlinks=False))
            except OSError:
                xattrs = []
            out[rel] = item + (tuple(xattrs),)
    return out


class Scratch:
    def __init__(self, prefix="gantry-fuzz-"):
        self.root = tempfile.mkdtemp(prefix=prefix)
        atexit.register(shutil.rmtree, self.root, True)
        self.outside = os.path.join(self.root, "outside")
        os.mkdir(self.outside)
        with open(os.path.join(self.outside, "secret"), "w") as f:
            f.write("must never change\n")
        os.mkdir(os.path.join(self.outside, "dir"))
        os.symlink("secret", os.path.join(self.outside, "link"))
        self._outside_tree = tree(self.outside)
        self._host_parent = os.path.dirname(self.root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def assert_outside_unchanged(self):
        now = tree(self.outside)
        if now != self._outside_tree:
            changed = sorted(k for k in set(now) | set(self._outside_tree) if now.get(k) != self._outside_tree.get(k))
            raise AssertionError("the input changed files outside the scratch root: %s" % changed)

    def assert_only(self, names):
        """The scratch root holds exactly ``names`` (plus outside/)."""
        have = set(os.listdir(self.root)) - {"outside"}
        if have != set(names):
            raise AssertionError("scratch root holds %s, expected %s" % (sorted(have), sorted(names)))
