"""Fewer glibc malloc arenas for the operator process.

glibc gives threads their own malloc arenas (up to eight per core), and memory freed in one
arena is not reused by threads of another. The operator's sync threads each allocate while
reading and writing secrets, so a burst of syncs left each arena holding its own free space:
the same 300-secret benchmark peaked at 308 to 324 MiB with the default and at 227 MiB with two
arenas (``docs/performance.md``). Two arenas cost nothing measurable in speed here: the sync
threads mostly wait on the network.

``MALLOC_ARENA_MAX`` set in the environment wins (glibc reads it at start); on a C library
without ``mallopt`` (musl, macOS) nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8
"""The ``mallopt`` parameter, from glibc's ``malloc.h``."""
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Call before threads start; True when the limit was set here."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))
