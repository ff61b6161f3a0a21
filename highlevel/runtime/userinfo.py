"""The container's user, resolved from the CRI security context and the image's /etc files.

    user = resolve(rootfs, config.linux.security_context, image_config["config"].get("User", ""))
    user.uid, user.gid, user.additional_gids, user.name

Semantics (kubelet + containerd):
- ``run_as_username`` or ``run_as_user`` (plus ``run_as_group`` if given) win
  over the image's ``User``; ``run_as_group`` without either is refused.
- The image's ``User`` is ``name``, ``uid``, ``uid:gid``, ``name:group``
  (any mix of numbers and names).  Empty means root.
- A numeric uid missing from /etc/passwd is fine (gid 0); a user *name*
  missing from it is InvalidArgument naming the name, as is a group name
  missing from /etc/group.  A gid not given comes from the passwd entry.
- Additional gids: the primary gid, the groups of /etc/group that list the
  user as a member (not under SupplementalGroupsPolicy Strict), and the
  CRI ``supplemental_groups``; sorted, without duplicates.

``read_in_root`` reads a file of the container's rootfs with every path
component resolved inside it: an absolute symlink or ``..`` never reaches a
host file.  ``parse_passwd`` and ``parse_group`` are pure.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field

from ..errors import InvalidArgument

MAX_FILE = 4 << 20        # bytes read from /etc/passwd or /etc/group at most
MAX_SYMLINKS = 40         # as the kernel's path walk
MAX_ID = 2**31 - 1        # runc's (and containerd's) upper bound for uid/gid
STRICT = 1                # cri SupplementalGroupsPolicy.Strict


@dataclass
class User:
    uid: int
    gid: int
    additional_gids: list = field(default_factory=list)
    name: str = ""


@dataclass
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str = ""
    shell: str = ""


@dataclass
class GroupEntry:
    name: str
    gid: int
    members: list = field(default_factory=list)


# ---------------------------------------------------------------- reading inside the rootfs

def read_in_root(rootfs, path, limit=MAX_FILE):
    """The bytes of ``path`` (absolute, as the container sees it) inside ``rootfs``; None when missing.

    Every component is opened with O_NOFOLLOW relative to the one before;
    symlinks are expanded by hand, an absolute target restarting at rootfs and
    ``..`` never climbing above it.  Only a regular file is read; one larger
    than ``limit`` is InvalidArgument.
    """
    with _Walk(rootfs, path) as w:
        if w.st is None or stat.S_ISDIR(w.st.st_mode):
            return None
        if not stat.S_ISREG(w.st.st_mode):
            _not_regular(path, rootfs)
        return _read_regular(w.chain[-1], w.name, path, rootfs, limit)


def resolve_in_root(rootfs, path):
    """The host path ``path`` of the container leads to inside ``rootfs`` (symlinks resolved there); None when missing."""
    with _Walk(rootfs, path) as w:
        if w.st is None:
            return None
        return os.path.join(rootfs, *(w.names + ([w.name] if w.name else [])))


class _Walk:
    """Resolve ``path`` inside ``rootfs`` component by component; leaves the parent's fd, the last name and its lstat."""

    def __init__(self, rootfs, path):
        self.rootfs, self.path = rootfs, path
        self.chain, self.names = [], []
        self.name, self.st = "", None

    def __enter__(self):
        self.chain.append(os.open(self.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
        try:
            self._resolve()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        while self.chain:
            os.close(self.chain.pop())

    def _resolve(self):
        pending = _components(self.path)
        if not pending:
            self.st = os.fstat(self.chain[0])          # the root itself
            return
        links = 0
        while pending:
            name = pending.pop(0)
            if name == "..":
                if len(self.chain) > 1:
                    os.close(self.chain.pop())
                    self.names.pop()
                if not pending:
                    self.st = os.fstat(self.chain[-1])
                continue
            try:
                st = os.stat(name, dir_fd=self.chain[-1], follow_symlinks=False)
            except (FileNotFoundError, NotADirectoryError):
                return
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_SYMLINKS:
                    raise InvalidArgument("resolve %s in %s: too many levels of symbolic links"
                                          % (self.path, self.rootfs))
                target = os.readlink(name, dir_fd=self.chain[-1])
                if target.startswith("/"):
                    while len(self.chain) > 1:
                        os.close(self.chain.pop())
                    self.names.clear()
                pending = _components(target) + pending
                if not pending:
                    self.st = os.fstat(self.chain[-1])
                continue
            if not pending:
                self.name, self.st = name, st
                return
            if not stat.S_ISDIR(st.st_mode):
                return
            self.chain.append(os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                      dir_fd=self.chain[-1]))
            self.names.append(name)


def _components(path):
    return [p for p in path.split("/") if p and p != "."]


def _not_regular(path, rootfs):
    raise InvalidArgument("read %s in %s: not a regular file" % (path, rootfs))


def _read_regular(dir_fd, name, path, rootfs, limit):
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):      # swapped between stat and open
            _not_regular(path, rootfs)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise InvalidArgument("read %s in %s: larger than %d bytes" % (path, rootfs, limit))
            chunks.append(chunk)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- /etc/passwd and /etc/group (pure)

def parse_passwd(text):
    """Entries of a passwd file; malformed lines and comments are skipped (as libc does)."""
    entries = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split(":")
        if len(f) < 4 or not f[0]:
            continue
        uid, gid = _number(f[2]), _number(f[3])
        if uid is None or gid is None:
            continue
        entries.append(PasswdEntry(f[0], uid, gid, f[5] if len(f) > 5 else "", f[6] if len(f) > 6 else ""))
    return entries


def parse_group(text):
    """Entries of a group file; malformed lines and comments are skipped."""
    entries = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split(":")
        if len(f) < 3 or not f[0]:
            continue
        gid = _number(f[2])
        if gid is None:
            continue
        members = [m.strip() for m in f[3].split(",")] if len(f) > 3 else []
        entries.append(GroupEntry(f[0], gid, [m for m in members if m]))
    return entries


def _number(text):
    text = text.strip()
    return int(text) if text.isdigit() else None


# ---------------------------------------------------------------- resolution

def resolve(rootfs, security_context, image_user):
    """The User for a container (see the module docstring); reads /etc/passwd and /etc/group in rootfs."""
    files = _EtcFiles(rootfs)
    return resolve_with(files.passwd, files.group, security_context, image_user)


def resolve_with(passwd, group, security_context, image_user):
    """resolve() over already-read entries: ``passwd()`` and ``group()`` return lists of entries."""
    sc = security_context
    username = sc.run_as_username if sc is not None else ""
    uid = sc.run_as_user.value if sc is not None and sc.HasField("run_as_user") else None
    gid = sc.run_as_group.value if sc is not None and sc.HasField("run_as_group") else None
    if gid is not None and not username and uid is None:
        raise InvalidArgument("CreateContainer config.linux.security_context.run_as_group: "
                              "set without run_as_user or run_as_username")
    if username:
        user_part, group_part, field_name = username, gid, "config.linux.security_context.run_as_username"
    elif uid is not None:
        user_part, group_part, field_name = uid, gid, "config.linux.security_context.run_as_user"
    else:
        user_part, _, group_text = (image_user or "").partition(":")
        group_part = group_text if ":" in (image_user or "") else None
        user_part = user_part or "0"
        field_name = "image config User %r" % image_user

    entry = _find_user(passwd, user_part, field_name)
    if isinstance(user_part, int) or _number(str(user_part)) is not None:
        uid_value = int(user_part)
    else:
        uid_value = entry.uid
    _check_id(uid_value, "uid", field_name)
    if group_part is None:
        gid_value = entry.gid if entry else 0
    elif isinstance(group_part, int) or _number(str(group_part)) is not None:
        gid_value = int(group_part)
    else:
        gid_value = _find_group(group, group_part, field_name)
    _check_id(gid_value, "gid", field_name)

    name = entry.name if entry else ""
    gids = {gid_value}
    policy = sc.supplemental_groups_policy if sc is not None else 0
    if policy != STRICT and name:
        gids.update(g.gid for g in group() if name in g.members and g.name != name)
    for extra in (sc.supplemental_groups if sc is not None else []):
        _check_id(extra, "supplemental group", "config.linux.security_context.supplemental_groups")
        gids.add(extra)
    return User(uid_value, gid_value, sorted(gids), name)


def _find_user(passwd, user_part, field_name):
    """The passwd entry for a uid (None when absent) or a name (InvalidArgument when absent)."""
    numeric = user_part if isinstance(user_part, int) else _number(user_part)
    if numeric is not None:
        _check_id(numeric, "uid", field_name)
        return next((e for e in passwd() if e.uid == numeric), None)
    entry = next((e for e in passwd() if e.name == user_part), None)
    if entry is None:
        raise InvalidArgument("CreateContainer %s: user %r not found in the image's /etc/passwd"
                              % (field_name, user_part))
    return entry


def _find_group(group, name, field_name):
    entry = next((g for g in group() if g.name == name), None)
    if entry is None:
        raise InvalidArgument("CreateContainer %s: group %r not found in the image's /etc/group"
                              % (field_name, name))
    return entry.gid


def _check_id(value, what, field_name):
    if not 0 <= value <= MAX_ID:
        raise InvalidArgument("CreateContainer %s: %s %d out of range 0..%d" % (field_name, what, value, MAX_ID))


class _EtcFiles:
    """Reads /etc/passwd and /etc/group of a rootfs at most once each, only when asked."""

    def __init__(self, rootfs):
        self.rootfs = rootfs
        self._cache = {}

    def _entries(self, path, parse):
        if path not in self._cache:
            data = read_in_root(self.rootfs, path)
            self._cache[path] = parse(data.decode("utf-8", "replace")) if data else []
        return self._cache[path]

    def passwd(self):
        return self._entries("/etc/passwd", parse_passwd)

    def group(self):
        return self._entries("/etc/group", parse_group)
