"""Mount options of config.json as a data table (pure; no I/O).

``parse(["nosuid", "ro", "rprivate", "mode=755"])`` returns a ``Parsed``
holding the mount(2) flags, the propagation flags (applied by a second
mount call, as the kernel wants), the recursive mount_setattr(2) attributes
(``rro``, ``rnosuid``...), and the filesystem data string (``mode=755``).
"""
from .syscalls import (
    MOUNT_ATTR__ATIME,
    MOUNT_ATTR_NOATIME,
    MOUNT_ATTR_NODEV,
    MOUNT_ATTR_NODIRATIME,
    MOUNT_ATTR_NOEXEC,
    MOUNT_ATTR_NOSUID,
    MOUNT_ATTR_NOSYMFOLLOW,
    MOUNT_ATTR_RDONLY,
    MOUNT_ATTR_RELATIME,
    MOUNT_ATTR_STRICTATIME,
    MS_BIND,
    MS_DIRSYNC,
    MS_LAZYTIME,
    MS_MANDLOCK,
    MS_NOATIME,
    MS_NODEV,
    MS_NODIRATIME,
    MS_NOEXEC,
    MS_NOSUID,
    MS_NOSYMFOLLOW,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
    MS_SHARED,
    MS_SILENT,
    MS_SLAVE,
    MS_STRICTATIME,
    MS_SYNCHRONOUS,
    MS_UNBINDABLE,
)

# option -> (clear, flag): clear=True removes the flag (e.g. "rw" clears MS_RDONLY)
FLAGS = {
    "async": (True, MS_SYNCHRONOUS),
    "atime": (True, MS_NOATIME),
    "bind": (False, MS_BIND),
    "defaults": (False, 0),
    "dev": (True, MS_NODEV),
    "diratime": (True, MS_NODIRATIME),
    "dirsync": (False, MS_DIRSYNC),
    "exec": (True, MS_NOEXEC),
    "lazytime": (False, MS_LAZYTIME),
    "iversion": (False, 0x800000),
    "noiversion": (True, 0x800000),
    "mand": (False, MS_MANDLOCK),
    "noatime": (False, MS_NOATIME),
    "nodev": (False, MS_NODEV),
    "nodiratime": (False, MS_NODIRATIME),
    "noexec": (False, MS_NOEXEC),
    "nolazytime": (True, MS_LAZYTIME),
    "nomand": (True, MS_MANDLOCK),
    "norelatime": (True, MS_RELATIME),
    "nostrictatime": (True, MS_STRICTATIME),
    "nosuid": (False, MS_NOSUID),
    "nosymfollow": (False, MS_NOSYMFOLLOW),
    "symfollow": (True, MS_NOSYMFOLLOW),
    "rbind": (False, MS_BIND | MS_REC),
    "relatime": (False, MS_RELATIME),
    "remount": (False, MS_REMOUNT),
    "ro": (False, MS_RDONLY),
    "rw": (True, MS_RDONLY),
    "silent": (False, MS_SILENT),
    "loud": (True, MS_SILENT),
    "strictatime": (False, MS_STRICTATIME),
    "suid": (True, MS_NOSUID),
    "sync": (False, MS_SYNCHRONOUS),
}

PROPAGATION = {
    "private": MS_PRIVATE,
    "rprivate": MS_PRIVATE | MS_REC,
    "shared": MS_SHARED,
    "rshared": MS_SHARED | MS_REC,
    "slave": MS_SLAVE,
    "rslave": MS_SLAVE | MS_REC,
    "unbindable": MS_UNBINDABLE,
    "runbindable": MS_UNBINDABLE | MS_REC,
}

# recursive attributes (mount_setattr with AT_RECURSIVE): option -> (clear, attr)
RECURSIVE = {
    "rro": (False, MOUNT_ATTR_RDONLY),
    "rrw": (True, MOUNT_ATTR_RDONLY),
    "rnosuid": (False, MOUNT_ATTR_NOSUID),
    "rsuid": (True, MOUNT_ATTR_NOSUID),
    "rnodev": (False, MOUNT_ATTR_NODEV),
    "rdev": (True, MOUNT_ATTR_NODEV),
    "rnoexec": (False, MOUNT_ATTR_NOEXEC),
    "rexec": (True, MOUNT_ATTR_NOEXEC),
    "rnodiratime": (False, MOUNT_ATTR_NODIRATIME),
    "rdiratime": (True, MOUNT_ATTR_NODIRATIME),
    "rrelatime": (False, MOUNT_ATTR_RELATIME),
    "rnorelatime": (True, MOUNT_ATTR_RELATIME),
    "rnoatime": (False, MOUNT_ATTR_NOATIME),
    "ratime": (True, MOUNT_ATTR_NOATIME),
    "rstrictatime": (False, MOUNT_ATTR_STRICTATIME),
    "rnostrictatime": (True, MOUNT_ATTR_STRICTATIME),
    "rnosymfollow": (False, MOUNT_ATTR_NOSYMFOLLOW),
    "rsymfollow": (True, MOUNT_ATTR_NOSYMFOLLOW),
}
_ATIME_ATTRS = (MOUNT_ATTR_RELATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_STRICTATIME)

# options the runtime itself consumes; never passed to the filesystem
RUNTIME_ONLY = {"tmpcopyup", "idmap", "ridmap", "copy-symlink", "src-nofollow", "dest-nofollow"}


class Parsed:
    """Result of parse(); compared field by field in tests."""

    __slots__ = ("flags", "propagation", "rec_set", "rec_clr", "data", "extra")

    def __init__(self, flags=0, propagation=(), rec_set=0, rec_clr=0, data="", extra=frozenset()):
        self.flags = flags
        self.propagation = list(propagation)
        self.rec_set = rec_set
        self.rec_clr = rec_clr
        self.data = data
        self.extra = frozenset(extra)

    def __eq__(self, other):
        return isinstance(other, Parsed) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self):
        return "Parsed(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__)

    @property
    def is_bind(self):
        return bool(self.flags & MS_BIND)


def parse(options):
    flags = 0
    propagation = []
    rec_set = rec_clr = 0
    data = []
    extra = set()
    for opt in options or ():
        if opt in FLAGS:
            clear, flag = FLAGS[opt]
            flags = flags & ~flag if clear else flags | flag
        elif opt in PROPAGATION:
            propagation.append(PROPAGATION[opt])
        elif opt in RECURSIVE:
            clear, attr = RECURSIVE[opt]
            if attr in _ATIME_ATTRS:
                # the kernel wants the whole atime field cleared when any atime mode changes
                rec_clr |= MOUNT_ATTR__ATIME
                rec_set = (rec_set & ~MOUNT_ATTR__ATIME) | (0 if clear else attr)
            elif clear:
                rec_clr |= attr
                rec_set &= ~attr
            else:
                rec_set |= attr
                rec_clr &= ~attr
        elif opt in RUNTIME_ONLY:
            extra.add(opt)
        else:
            data.append(opt)
    return Parsed(flags, propagation, rec_set, rec_clr, ",".join(data), frozenset(extra))
