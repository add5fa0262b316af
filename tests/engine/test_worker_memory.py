"""Workers keep freed image buffers for the next file (engine.worker._keep_freed_memory)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning"),
]

PROBE = r"""
import ctypes, json, sys
from PIL import Image
if sys.argv[1] == "tuned":
    from pixmill.engine.worker import _keep_freed_memory
    _keep_freed_memory()

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
im = Image.new("RGB", (3000, 2000))  # 24 MB in Pillow's blocks, like a drafted 24 MP photo
held = libc.mallinfo2()
del im
freed = libc.mallinfo2()
print(json.dumps({"mapped_while_held": held.hblkhd, "heap_kept_after_free": freed.fordblks}))
"""


def probe(kind: str) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, kind], capture_output=True, text=True, timeout=50
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_big_buffers_come_from_the_heap_and_stay_for_reuse():
    plain, tuned = probe("plain"), probe("tuned")
    # glibc's default: a fresh mapping per image buffer, handed back to the kernel on free
    assert plain["mapped_while_held"] >= 16 << 20
    # tuned: no mappings, and the freed buffers stay in the heap for the next file
    assert tuned["mapped_while_held"] < 1 << 20
    assert tuned["heap_kept_after_free"] >= 16 << 20
