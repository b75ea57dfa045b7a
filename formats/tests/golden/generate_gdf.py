"""Golden numbers for the GDF reader, from MNE.

Run with the project's Python (numpy and MNE installed):

    .venv/bin/python formats/tests/golden/generate_gdf.py [DATA_DIR]

DATA_DIR defaults to $NEUROLOOP_DATA_DIR, else ../shared/data next to the workspace root. Writes
formats/tests/golden/gdf.json: per file the channel names and MNE channel types, sfreq, the
sample count, MNE's unit factor per channel (volts per stored unit), a few values per channel at
fixed indices, per-channel sums and sums of squares (all in SI units, as MNE returns them), the
annotations MNE keeps, and the number of events in the file's event table. Only summaries are
written; the data files are never copied.
"""

import json
import os
import sys
import warnings
from pathlib import Path

import mne
import numpy as np

FILES = [
    "formats_real_gdf_fif/s01_2012.07.06-19.02.16.gdf",
    "formats_real_gdf_fif/s02_2012.07.19-17.41.14.gdf",
    "formats_mne_testing_data/GDF/test_1ch.gdf",
]


def data_dir():
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    if "NEUROLOOP_DATA_DIR" in os.environ:
        return Path(os.environ["NEUROLOOP_DATA_DIR"])
    return Path(__file__).resolve().parents[4] / "shared" / "data"


def sample_indices(n):
    """First 5, three in the middle, last."""
    picks = list(range(min(5, n))) + [n // 3, n // 2, (2 * n) // 3, n - 1]
    return sorted({int(i) for i in picks if 0 <= i < n})


def summarise(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = mne.io.read_raw_gdf(path, preload=True, verbose="WARNING")
    data = raw.get_data()
    extras = raw._raw_extras[0]
    events = extras.get("events")
    indices = sample_indices(int(raw.n_times))
    annotations = raw.annotations
    return {
        "mne_version": mne.__version__,
        "ch_names": list(raw.ch_names),
        "ch_types": raw.get_channel_types(),
        "sfreq": float(raw.info["sfreq"]),
        "n_samples": int(raw.n_times),
        "unit_factor": [float(u) for u in extras["units"]],
        "meas_date": None if raw.info["meas_date"] is None else raw.info["meas_date"].isoformat(),
        "indices": indices,
        "values": [[float(data[c, i]) for i in indices] for c in range(data.shape[0])],
        "sums": [float(s) for s in data.sum(axis=1)],
        "sums_of_squares": [float(s) for s in (data * data).sum(axis=1)],
        "annotations": {
            "onset": [float(x) for x in annotations.onset],
            "duration": [float(x) for x in annotations.duration],
            "description": [str(x) for x in annotations.description],
        },
        "events_in_file": 0 if events is None else int(events[0]),
        "warnings": sorted({str(w.message) for w in caught}),
    }


def main():
    root = data_dir()
    golden = {}
    for relative in FILES:
        path = root / relative
        if not path.exists():
            print(f"missing: {path}", file=sys.stderr)
            continue
        golden[relative] = summarise(path)
    out = Path(__file__).resolve().parent / "gdf.json"
    out.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
