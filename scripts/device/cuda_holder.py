#!/usr/bin/env python3
"""Holds GPU memory through the CUDA driver API alone (libcuda.so.1 via ctypes: no toolkit,
no framework), so the device check has a real CUDA process to find. Prints its pid and the
bytes it holds, then sleeps until killed. Exit 3 when there is no CUDA driver."""
import ctypes, os, sys, time

MIB = int(sys.argv[1]) if len(sys.argv) > 1 else 256
DEVICE = int(sys.argv[2]) if len(sys.argv) > 2 else 0
try:
    cuda = ctypes.CDLL("libcuda.so.1")
except OSError as e:
    print(f"no CUDA driver: {e}", file=sys.stderr)
    sys.exit(3)

def check(rc, what):
    if rc != 0:
        print(f"{what} failed: CUresult {rc}", file=sys.stderr)
        sys.exit(4)

check(cuda.cuInit(0), "cuInit")
dev = ctypes.c_int()
check(cuda.cuDeviceGet(ctypes.byref(dev), DEVICE), "cuDeviceGet")
ctx = ctypes.c_void_p()
check(cuda.cuCtxCreate_v2(ctypes.byref(ctx), 0, dev), "cuCtxCreate")
ptr = ctypes.c_uint64()
check(cuda.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(MIB << 20)), "cuMemAlloc")
print(f"holder pid {os.getpid()} device {DEVICE} MiB {MIB}", flush=True)
while True:
    time.sleep(60)
