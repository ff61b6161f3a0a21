"""gantryd's image tools beside the CRI: tag, commit a container, push (proto/imagetools.proto).

    from gantry.highlevel import imagetools
    imagetools.register(server, runtime, cfg)    # in gantryd's register(server) hook
"""


def register(server, runtime, cfg=None):
    from .service import register as _register

    return _register(server, runtime, cfg)
