"""Per-pod CNI cache: what ADD was given and returned, so DEL works after a restart or a conf change.

Like libcni's cache, one file per pod (``<cache_dir>/<pod id>.json``), written
temp + fsync + rename, holding the network configuration list itself (not its
file name), CNI_ARGS, the capability arguments, the netns path, the interface
name and the ADD result.  It is written before ADD runs (result null), so a
crash in the middle of ADD still leaves what DEL needs.
"""
import json
import os
import re

from ..errors import Internal, InvalidArgument

KIND = "gantry-cni-cache-v1"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


class CNICache:
    def __init__(self, directory):
        self.directory = directory

    def _path(self, pod_id):
        if not _SAFE_ID.match(pod_id):
            raise InvalidArgument("cni cache: pod id %r has characters outside [A-Za-z0-9_.-]" % pod_id)
        return os.path.join(self.directory, pod_id + ".json")

    def write(self, pod_id, entry):
        path = self._path(pod_id)
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        tmp = "%s.tmp.%d" % (path, os.getpid())
        data = json.dumps(dict(entry, kind=KIND, pod_id=pod_id), sort_keys=True).encode()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, path)
            dfd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            raise Internal("write cni cache %s: %s" % (path, exc.strerror)) from exc

    def read(self, pod_id):
        """The entry, or None when there is none; a torn or foreign file is an error naming it."""
        path = self._path(pod_id)
        try:
            with open(path, "rb") as f:
                entry = json.loads(f.read())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:     # RecursionError: absurd nesting
            raise Internal("read cni cache %s: %s" % (path, exc)) from exc
        if not isinstance(entry, dict) or entry.get("kind") != KIND:
            raise Internal("read cni cache %s: not a %s entry" % (path, KIND))
        return entry

    def remove(self, pod_id):
        try:
            os.unlink(self._path(pod_id))
        except FileNotFoundError:
            pass

    def remove_temporaries(self):
        """Delete half-written entries (``<id>.json.tmp.<pid>``) a killed writer left; their names."""
        try:
            names = [n for n in os.listdir(self.directory) if ".json.tmp." in n]
        except FileNotFoundError:
            return []
        for name in names:
            try:
                os.unlink(os.path.join(self.directory, name))
            except FileNotFoundError:
                pass
        return names

    def pod_ids(self):
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return set()
        return {n[:-5] for n in names if n.endswith(".json")}
