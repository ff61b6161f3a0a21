"""JSON for gantry-oci: compact loads/dumps (config.json, state, channel messages) and dumps_pretty.

loads/dumps give the same results as json.loads/json.dumps(separators=(",", ":")) for the
documents we handle; they come from tricks.json_codec (the C accelerator directly, which spares
``import json`` and its ``re``, or the json module when that is not safe).
"""
from .tricks import json_codec

loads, dumps, _encode_string = json_codec()


def dumps_pretty(obj, indent="  ", _level=0):
    """Indented like json.dumps(obj, indent=2)."""
    pad = indent * (_level + 1)
    if isinstance(obj, dict) and obj:
        items = ",\n".join("%s%s: %s" % (pad, _encode_string(str(k)),
                                          dumps_pretty(v, indent, _level + 1)) for k, v in obj.items())
        return "{\n%s\n%s}" % (items, indent * _level)
    if isinstance(obj, list) and obj:
        items = ",\n".join(pad + dumps_pretty(v, indent, _level + 1) for v in obj)
        return "[\n%s\n%s]" % (items, indent * _level)
    return dumps(obj)
