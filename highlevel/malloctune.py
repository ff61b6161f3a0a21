"""glibc malloc arenas for a threaded daemon: at most a few, unless the user said otherwise.

glibc gives a thread that finds the main arena busy an arena of its own, up to 8 per core,
and each keeps the memory its thread freed for reuse by that arena only.  gantryd runs a
gRPC worker per concurrent call, so a burst of 20 RunPodSandbox leaves ~16 arenas of freed
memory behind, counted in its RSS/PSS for good.  ``limit_arenas`` caps them with
mallopt(M_ARENA_MAX) before the workers start; MALLOC_ARENA_MAX in the environment wins
(glibc reads it itself).  On a C library without mallopt it does nothing.
"""
import ctypes
import os

M_ARENA_MAX = -8
DEFAULT_ARENAS = 2


def limit_arenas(count=DEFAULT_ARENAS, environ=os.environ):
    """True when the cap was set; False when the environment decides or libc has no mallopt."""
    if "MALLOC_ARENA_MAX" in environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_ARENA_MAX, count) == 1
