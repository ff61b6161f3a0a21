"""Can a directory hold overlay upper dirs?  Checked before gantryd (or `make demo`) starts.

Container rootfs are overlay mounts whose upper and work dirs, and the image layers with their
whiteouts (0/0 character devices), live under gantryd's root.  The kernel refuses an overlay upper
dir on an overlayfs (`mount -t overlay`: "wrong fs type"), and creating a whiteout there fails with
EPERM, so a root on overlayfs (the usual `/` of a container or of a throwaway machine) fails much
later at the first pull or the first container.  This module finds the filesystem a path is on
(the pure part reads a mountinfo text) and says in one line what to do instead.
"""
import os

# filesystems that cannot be an overlay upper dir (or hold whiteouts) for us
UNSUITABLE = {
    "overlay": "overlayfs",
    "aufs": "aufs",
    "fuse.fuse-overlayfs": "fuse-overlayfs",
    "vfat": "vfat (no device nodes, no xattrs)",
    "exfat": "exfat (no device nodes, no xattrs)",
}


def _unescape(field):
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    out, i = [], 0
    while i < len(field):
        octal = field[i + 1:i + 4]
        if field[i] == "\\" and len(octal) == 3 and octal.isdigit():
            out.append(chr(int(octal, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts(mountinfo_text):
    """[(mount point, fstype)] of a /proc/self/mountinfo text, in its order (pure)."""
    table = []
    for line in mountinfo_text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        table.append((_unescape(fields[4]), right.split()[0]))
    return table


def fstype_of(path, mountinfo_text):
    """The fstype of the mount an absolute, resolved path is on: the last (topmost) mount whose
    mount point is the longest prefix of it (pure)."""
    best, best_len = None, -1
    for point, fstype in mounts(mountinfo_text):
        inside = path == point or point == "/" or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best_len:
            best, best_len = fstype, len(point)
    return best


def existing_ancestor(path):
    """path resolved, or its nearest existing ancestor (the directory may not exist yet)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return os.path.realpath(path)


def overlay_problem(path, what="root", flag="--root DIR", mountinfo_text=None):
    """None when path can hold overlay upper dirs, else one line saying why not and what to do."""
    if mountinfo_text is None:
        with open("/proc/self/mountinfo") as f:
            mountinfo_text = f.read()
    fstype = fstype_of(existing_ancestor(path), mountinfo_text)
    if fstype not in UNSUITABLE:
        return None
    return ("%s %s is on %s, which cannot hold overlay upper dirs or whiteouts: mount a tmpfs or a disk there "
            "first (mkdir -p %s && mount -t tmpfs -o size=4g tmpfs %s) or use %s on another filesystem"
            % (what, path, UNSUITABLE[fstype], path, path, flag))


def main(argv):
    """``python3 highlevel/fscheck.py WHAT=PATH[=FLAG]...``: one line per unsuitable path, exit 1 if any
    (the Makefile runs it before installing anything, so it imports nothing of ours)."""
    problems = []
    for arg in argv:
        what, _, rest = arg.partition("=")
        path, _, flag = rest.partition("=")
        problem = overlay_problem(path, what, flag or "--root DIR")
        if problem:
            problems.append(problem)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
