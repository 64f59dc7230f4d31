"""Shared by the demo scripts: loader workers, a prefetch thread, a simulated GPU allocation.

Behaviour is chosen by --behave:
  ok           run for DEMO_SECONDS (default 3) and exit 0
  hang         never finish (the stage timeout must tear the whole tree down)
  stop-worker  one loader worker stops itself with SIGSTOP (stuck detection must notice)
  ignore-term  main process and workers ignore SIGTERM, then hang (the ladder must SIGKILL)
  fail         exit 3 after a short while
The simulated GPU allocation is the REAPER_SIM_GPU_MIB environment variable set by the batch's
stage env: with CUDA_VISIBLE_DEVICES it makes `reaper sim-nvidia-smi` list this process.
"""
import multiprocessing as mp
import os
import signal
import sys
import threading
import time


def seconds():
    try:
        return float(os.environ.get("DEMO_SECONDS", "3"))
    except ValueError:
        return 3.0


def _loader(idx, stop_evt, stop_self):
    if stop_self and idx == 0:
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGSTOP)
    x = 0
    while not stop_evt.is_set():
        for i in range(20000):
            x += i * i
        time.sleep(0.05)


def run(role, behave, work):
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES", "?")
    mib = os.environ.get("REAPER_SIM_GPU_MIB", "0")
    print(f"{role}: pid {os.getpid()} gpu {gpu} holding {mib} MiB (simulated), behave={behave}", flush=True)
    if behave == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stop_evt = mp.Event()
    workers = [mp.Process(target=_loader, args=(i, stop_evt, behave == "stop-worker"), name=f"loader{i}") for i in range(2)]
    for w in workers:
        w.start()
    prefetch_stop = threading.Event()
    t = threading.Thread(target=lambda: prefetch_stop.wait(), name="prefetch", daemon=True)
    t.start()
    deadline = time.time() + seconds()
    if behave == "fail":
        time.sleep(min(1.0, seconds()))
        print(f"{role}: simulated crash (exit 3)", file=sys.stderr, flush=True)
        os._exit(3)
    while behave in ("hang", "ignore-term", "stop-worker") or time.time() < deadline:
        work()
        time.sleep(0.2)
    stop_evt.set()
    prefetch_stop.set()
    for w in workers:
        w.join()
    print(f"{role}: done", flush=True)
