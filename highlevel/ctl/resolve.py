"""Which pod or container an operator means: a full id, a unique id prefix, or a name.

``choose`` is pure (records in, one id out); ``pod_id``/``container_id`` list over CRI first.
"""
from gantry.api import cri_pb2

from .client import CtlError


def choose(kind, ref, records):
    """records: (id, name) pairs.  Exact id, else one id with this prefix, else one with this name."""
    ids = [i for i, _ in records]
    if ref in ids:
        return ref
    by_prefix = [i for i in ids if i.startswith(ref)]
    if len(by_prefix) == 1:
        return by_prefix[0]
    by_name = [i for i, name in records if name == ref]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_prefix) > 1 or len(by_name) > 1:
        raise CtlError("%s %s: ambiguous, it matches %s" % (kind, ref, ", ".join(sorted(set(by_prefix + by_name)))))
    raise CtlError("%s %s: no such %s (neither an id, an id prefix, nor a name)" % (kind, ref, kind))


def pods(client):
    return client.call("list pods", client.runtime.ListPodSandbox, cri_pb2.ListPodSandboxRequest()).items


def containers(client):
    return client.call("list containers", client.runtime.ListContainers, cri_pb2.ListContainersRequest()).containers


def pod_id(client, ref):
    return choose("pod", ref, [(p.id, p.metadata.name) for p in pods(client)])


def container_id(client, ref):
    return choose("container", ref, [(c.id, c.metadata.name) for c in containers(client)])
