#!/usr/bin/env python3
"""Runs a command; prints `wall_seconds peak_rss_mb`: the wall time, and the
peak resident memory of the largest process in the command's tree (the
kernel's accounting of waited-for children), in MB of 10^6 bytes.

    measure.py -- CMD ARGS...
"""
import resource
import subprocess
import sys
import time

cmd = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
start = time.perf_counter()
done = subprocess.run(cmd, stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
if done.returncode != 0:
    sys.exit(f"measure: {cmd[0]} failed with exit code {done.returncode}")
rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
print(f"{wall:.3f} {rss_kib * 1024 / 1e6:.1f}")
