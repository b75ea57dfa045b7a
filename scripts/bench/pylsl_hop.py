"""One LSL hop timed with pylsl, the peer of `neuroloop bench`'s LSL loopback.

An outlet (8 float32 channels at 250 Hz) and an inlet on it in one process: every 20 ms a
5-frame chunk is pushed, and the inlet pulls until it has it; the hop is the time from the push
to the pulls returning the chunk's last sample (pylsl.local_clock, one clock). Prints JSON: chunks timed and
the median, 99th percentile and largest hop in milliseconds.
"""

import json
import os
import sys
import time

import pylsl

CHUNKS = 500
FRAMES = 5
CHANNELS = 8


def main():
    name = f"neuroloop-pylsl-hop-{os.getpid()}"
    info = pylsl.StreamInfo(name, "EEG", CHANNELS, 250.0, "float32", name)
    outlet = pylsl.StreamOutlet(info, FRAMES)
    found = pylsl.resolve_byprop("name", name, 1, 10.0)
    if not found:
        sys.exit(f"the outlet {name} is not visible: check LSLAPICFG")
    inlet = pylsl.StreamInlet(found[0], 360, FRAMES)
    inlet.open_stream(5.0)
    chunk = [[0.0] * CHANNELS for _ in range(FRAMES)]
    hops = []
    for k in range(CHANNELS + CHUNKS):
        pushed = pylsl.local_clock()
        outlet.push_chunk(chunk, pushed)
        for _ in range(FRAMES):
            _, stamp = inlet.pull_sample(timeout=1.0)
            if stamp is None:
                sys.exit("a pushed chunk did not arrive within 1 s")
        if k >= CHANNELS:  # the first few warm the connection up
            hops.append((pylsl.local_clock() - pushed) * 1e3)
        time.sleep(0.02)
    hops.sort()
    print(json.dumps({
        "chunks": len(hops),
        "p50_ms": hops[len(hops) // 2],
        "p99_ms": hops[int(0.99 * len(hops)) - 1],
        "max_ms": hops[-1],
    }), flush=True)
    # Leave without waiting for liblsl's threads to wind down (they can hang at exit).
    os._exit(0)


if __name__ == "__main__":
    main()
