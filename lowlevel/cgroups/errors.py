"""The one error kind of the cgroups package; messages name the operation and the file."""


class CgroupError(Exception):
    """A limit cannot be expressed or written; the message names the file."""
