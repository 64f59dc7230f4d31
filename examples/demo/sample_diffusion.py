#!/usr/bin/env python3
"""Demo stand-in for the real sample_diffusion.py: same name, so batch patterns match."""
import argparse
import json
import os

from _demo_common import run

p = argparse.ArgumentParser()
p.add_argument("--ckpt", required=True)
p.add_argument("--out", required=True)
p.add_argument("--behave", default="ok")
a = p.parse_args()

state = {"steps": 0}


def step():
    state["steps"] += 1


run("sample", a.behave, step)
os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
with open(a.out, "w") as f:
    json.dump({"ckpt": a.ckpt, "steps": state["steps"]}, f)
print(f"sample: wrote {a.out}", flush=True)
