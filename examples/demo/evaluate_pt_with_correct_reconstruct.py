#!/usr/bin/env python3
"""Demo stand-in for the real evaluate_pt_with_correct_reconstruct.py."""
import argparse
import json

from _demo_common import run

p = argparse.ArgumentParser()
p.add_argument("--samples", required=True)
p.add_argument("--behave", default="ok")
a = p.parse_args()
with open(a.samples) as f:
    samples = json.load(f)
run("evaluate", a.behave, lambda: None)
print(f"evaluate: {samples['ckpt']}: score {0.5 + (samples['steps'] % 7) / 100:.3f}", flush=True)
