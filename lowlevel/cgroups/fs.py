"""File operations on cgroup directories, with errors that name the file."""
import errno
import os
import time

from .errors import CgroupError


def write(directory, name, value):
    path = os.path.join(directory, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except FileNotFoundError:
        raise CgroupError("write %s: the file does not exist (controller or feature missing)" % path) from None
    except OSError as err:
        raise CgroupError("write %s: %s" % (path, err.strerror)) from None
    try:
        os.write(fd, value.encode() if isinstance(value, str) else value)
    except OSError as err:
        raise CgroupError("write %r to %s: %s" % (value, path, err.strerror)) from err
    finally:
        os.close(fd)


def read(directory, name):
    """The file's text, or None when it does not exist."""
    try:
        with open(os.path.join(directory, name)) as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        if err.errno in (errno.ENODEV, errno.EOPNOTSUPP, errno.EINVAL):
            return None
        raise


def reader(directory):
    return lambda name: read(directory, name)


def listing(directory):
    try:
        return frozenset(os.listdir(directory))
    except OSError:
        return frozenset()


def makedirs(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise CgroupError("mkdir %s: %s" % (path, err.strerror)) from None


def procs(directory):
    text = read(directory, "cgroup.procs")
    return [int(p) for p in (text or "").split()]


def remove_tree(path, attempts=50, delay=0.01):
    """rmdir ``path`` and its sub-cgroups (deepest first); retry EBUSY while tasks exit."""
    try:
        os.rmdir(path)   # the usual case (no sub-cgroups, no tasks left): one syscall, no walk
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    if not os.path.isdir(path):
        return
    for root, dirs, _ in os.walk(path, topdown=False):
        for d in dirs:
            _rmdir(os.path.join(root, d), attempts, delay)
    _rmdir(path, attempts, delay)


def _rmdir(path, attempts, delay):
    for attempt in range(attempts):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as err:
            if err.errno != errno.EBUSY or attempt == attempts - 1:
                raise CgroupError("rmdir %s: %s" % (path, err.strerror)) from None
            time.sleep(min(delay * (attempt + 1), 0.1))
