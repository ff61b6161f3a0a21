"""Where the cgroup hierarchies are mounted, and where this process sits in them.

Three layouts exist and all are handled:

- ``v1``: one hierarchy per controller (or co-mounted ones, "cpu,cpuacct"),
  usually under /sys/fs/cgroup/<name>; named hierarchies like name=systemd too.
- ``v2``: one cgroup2 hierarchy; its root's cgroup.controllers lists the
  controllers.
- ``hybrid``: v1 controllers plus a cgroup2 hierarchy (systemd puts it at
  /sys/fs/cgroup/unified).  A controller not bound to any v1 hierarchy but
  listed in the cgroup2 root's cgroup.controllers is driven through cgroup2
  (this machine does that for hugetlb).  The container is placed in the cgroup2
  hierarchy too, so tools that look there find it.

Pure parsers over the text of /proc/self/mountinfo and /proc/self/cgroup, and one
``detect()`` that reads them (its file arguments let tests point at fakes).
"""
V1 = "v1"
V2 = "v2"
HYBRID = "hybrid"

# Controllers that are not resources of their own (they ride on a hierarchy but
# have no OCI resources): kept in the layout, joined, never written.
KNOWN_V1 = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
            "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc")


class Mount:
    """One mounted hierarchy (plain class: dataclasses costs ~15 ms of start-up)."""
    __slots__ = ("mountpoint", "root", "options")

    def __init__(self, mountpoint, root, options):
        self.mountpoint = mountpoint   # where it is mounted
        self.root = root               # the cgroup path the mount shows (not "/" inside a cgroupns)
        self.options = options         # frozenset of controllers and name=... of a v1 hierarchy

    def __eq__(self, other):
        return isinstance(other, Mount) and (self.mountpoint, self.root, self.options) == (
            other.mountpoint, other.root, other.options)

    def __hash__(self):
        return hash((self.mountpoint, self.root, self.options))

    def __repr__(self):
        return "Mount(%r, root=%r, options=%s)" % (self.mountpoint, self.root, sorted(self.options))


class Layout:
    def __init__(self, v1=None, unified=None, unified_controllers=frozenset()):
        self.v1 = dict(v1 or {})                              # controller or "name=x" -> Mount
        self.unified = unified                                # the cgroup2 hierarchy, if mounted
        self.unified_controllers = frozenset(unified_controllers)   # cgroup.controllers of its root

    @property
    def mode(self):
        if not self.v1:
            return V2
        return HYBRID if self.unified is not None else V1

    def controller_home(self, controller):
        """V1, V2 or None: which hierarchy drives ``controller``."""
        if controller in self.v1:
            return V1
        if self.unified is not None and controller in self.unified_controllers:
            return V2
        return None


def _unescape(text):
    # mountinfo escapes space, tab, newline and backslash as \ooo
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 3 < len(text) + 1 and text[i + 1:i + 4].isdigit():
            out.append(chr(int(text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text):
    """(v1 {controller: Mount}, cgroup2 Mount or None) from mountinfo text.

    The last mount of a hierarchy wins, like the kernel's view of stacked mounts.
    """
    v1, unified = {}, None
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        fstype, super_opts = tail[0], tail[2]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        root, mountpoint = _unescape(fields[3]), _unescape(fields[4])
        if fstype == "cgroup2":
            unified = Mount(mountpoint, root, frozenset())
        elif fstype == "cgroup":
            opts = frozenset(o for o in super_opts.split(",")
                             if o in KNOWN_V1 or o.startswith("name="))
            mount = Mount(mountpoint, root, opts)
            for opt in opts:
                v1[opt] = mount
    return v1, unified


def parse_proc_cgroup(text):
    """{controller or "name=x": path} for v1 lines and {"": path} for the cgroup2 line."""
    paths = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            paths[""] = path
        for controller in controllers.split(","):
            if controller:
                paths[controller] = path
    return paths


def detect(mountinfo="/proc/self/mountinfo", read_controllers=None):
    """The Layout of this machine (or of the given mountinfo file)."""
    with open(mountinfo) as f:
        v1, unified = parse_mountinfo(f.read())
    layout = Layout(v1=v1, unified=unified)
    if unified is not None:
        read = read_controllers or _read_controllers
        layout.unified_controllers = frozenset(read(unified.mountpoint))
    return layout


def _read_controllers(mountpoint):
    try:
        with open(mountpoint + "/cgroup.controllers") as f:
            return f.read().split()
    except OSError:
        return ()
