"""Container state on disk, and the container status state machine.

Layout under --root (default /run/gantry-oci):

    <root>/<id>/state.json   our record (written temp + rename; see Store.write on fsync)
    <root>/<id>/exec.fifo    exists from create until start (the init blocks on it)

The record stores the init pid *with its start time* (field 22 of
/proc/PID/stat): a pid that was reused by another process reads as stopped.
A half-written file never exists (rename is atomic); a record that fails to
parse is reported as an error naming the file, never read as valid.
"""
import os

from .jsonio import dumps, loads

DEFAULT_ROOT = "/run/gantry-oci"
OCI_VERSION = "1.2.0"

# The one state machine of a container: status -> {command: status after it}.
# A command missing from a status's row is refused with that status named.
TRANSITIONS = {
    "creating": {"delete-force": "stopped", "state": "creating"},
    "created": {"start": "running", "kill": "created", "delete-force": "stopped", "exec": "created",
                "ps": "created", "update": "created", "events": "created", "state": "created"},
    "running": {"kill": "running", "pause": "paused", "exec": "running", "ps": "running",
                "update": "running", "events": "running", "delete-force": "stopped", "state": "running"},
    "paused": {"resume": "running", "kill": "paused", "ps": "paused", "update": "paused",
               "events": "paused", "delete-force": "stopped", "state": "paused"},
    "stopped": {"delete": "stopped", "delete-force": "stopped", "state": "stopped", "ps": "stopped"},
}


class StateError(Exception):
    """A container is missing, exists already, or is in the wrong status."""


def transition(status, command, container_id=""):
    """The status after command, or StateError with the texts runc consumers match on."""
    row = TRANSITIONS.get(status, {})
    if command in row:
        return row[command]
    if command in ("kill", "exec", "pause", "ps", "events", "update") and status == "stopped":
        raise StateError("container not running")
    if command == "start" and status == "stopped":
        raise StateError("cannot start a container that has stopped")
    if command == "delete":
        raise StateError("cannot delete container %s that is not stopped: %s" % (container_id, status))
    if command == "resume":
        raise StateError("container %s is not paused: %s" % (container_id, status))
    raise StateError("cannot %s container %s: it is %s" % (command, container_id, status))


def pid_start_time(pid):
    """Start time (clock ticks after boot) of pid, or None when it is gone or a zombie."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def validate_id(container_id):
    if not container_id or container_id in (".", "..") or len(container_id) > 1024 or any(
            not (c.isalnum() or c in "_+-.") for c in container_id):
        raise StateError("invalid container id %r" % (container_id,))


class Store:
    """The state directory of every container under one --root."""

    def __init__(self, root=DEFAULT_ROOT):
        self.root = root

    def dir(self, container_id):
        return os.path.join(self.root, container_id)

    def fifo(self, container_id):
        return os.path.join(self.root, container_id, "exec.fifo")

    def reserve(self, container_id):
        """Make the container's directory; AlreadyExists when it is taken."""
        validate_id(container_id)
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        try:
            os.mkdir(self.dir(container_id), 0o700)
        except FileExistsError:
            raise StateError("container with id %s already exists" % container_id) from None
        return self.dir(container_id)

    def write(self, record):
        """Atomically replace the record: a reader (or a `delete` after kill -9) sees old or new, never half.

        No fsync, as runc: it would only matter after a power loss or kernel crash, and the record
        describes processes, cgroups and mounts that none of those survive (the default root /run
        is a tmpfs on most hosts and is emptied at boot).  Atomicity against a crash of gantry-oci
        itself comes from the rename alone; an fsync costs 0.5-7 ms per write on this machine's ext4
        /run, and `create` writes three times.
        """
        path = os.path.join(self.dir(record["id"]), "state.json")
        tmp = path + ".tmp"
        data = dumps(record).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.rename(tmp, path)

    def read(self, container_id):
        validate_id(container_id)
        path = os.path.join(self.dir(container_id), "state.json")
        try:
            with open(path, "rb") as f:
                record = loads(f.read())
        except FileNotFoundError:
            raise StateError("container %s does not exist" % container_id) from None
        except (ValueError, RecursionError) as e:
            raise StateError("read %s: corrupt state (%s)" % (path, e)) from None
        problem = record_problem(record)
        if not problem and record["id"] != container_id:
            problem = "it is the record of %r" % record["id"]
        if problem:
            raise StateError("read %s: corrupt state (%s)" % (path, problem))
        return record

    def ids(self):
        try:
            names = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []
        return [n for n in names if os.path.exists(os.path.join(self.root, n, "state.json"))]

    def remove(self, container_id):
        remove_tree(self.dir(container_id))


# The fields every reader of a record relies on, with their types; the optional ones may be absent or null.
RECORD_FIELDS = {"id": str, "bundle": str, "pid": int, "status": str}
OPTIONAL_FIELDS = {"pid_start": int, "config": dict, "cgroups": dict, "annotations": dict}


def record_problem(record):
    """What makes a parsed state.json unusable, or "" (a record we wrote always passes)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    for key, kind in list(RECORD_FIELDS.items()) + list(OPTIONAL_FIELDS.items()):
        value = record.get(key)
        if value is None and key in OPTIONAL_FIELDS:
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            return "%s is %r" % (key, value)
    return ""


def remove_tree(path):
    """rm -rf without following symlinks (shutil costs ~2 ms to import)."""
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return
    except NotADirectoryError:
        os.unlink(path)
        return
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            remove_tree(e.path)
        else:
            try:
                os.unlink(e.path)
            except FileNotFoundError:
                pass
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass


def init_alive(record):
    pid = record.get("pid") or 0
    return pid > 0 and pid_start_time(pid) == record.get("pid_start")


def status(record, store, frozen=None):
    """creating / created / running / paused / stopped, from the record and the live system.

    frozen: a callable returning True when the container's cgroup is frozen.
    """
    if record.get("status") == "creating" and not record.get("pid"):
        return "creating"
    if not init_alive(record):
        return "stopped"
    if os.path.exists(store.fifo(record["id"])):
        return "created"
    if record.get("status") == "paused" or (frozen is not None and frozen()):
        return "paused"
    return "running"


def oci_state(record, current):
    """The runtime-spec state document for `gantry-oci state`."""
    return {
        "ociVersion": record.get("ociVersion", OCI_VERSION),
        "id": record["id"],
        "pid": record.get("pid", 0) if current != "stopped" else 0,
        "status": current,
        "bundle": record["bundle"],
        "rootfs": record.get("rootfs", ""),
        "created": record.get("created", ""),
        "annotations": record.get("annotations") or {},
        "owner": record.get("owner", ""),
    }
