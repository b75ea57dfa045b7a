"""Regenerate the BrainVision golden numbers (`brainvision.json`) from MNE.

Run from the workspace root with the project's Python environment:

    .venv/bin/python formats/tests/golden/generate_brainvision.py [DATA_DIR]

DATA_DIR defaults to $NEUROLOOP_DATA_DIR or ../shared/data. For every `.vhdr` under
`formats_mne_testing_data/Brainvision/` it stores what `mne.io.read_raw_brainvision` reports:
channel names, MNE channel types, the units the header declares, sfreq, the sample count, per
channel the values (in volts) at a few fixed indices (the first five, three around the middle,
the last) with their sum and sum of squares, the annotations and meas_date. The data files are
never copied.
"""

import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = "formats_mne_testing_data/Brainvision"


def data_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    default = os.path.join(HERE, "..", "..", "..", "..", "shared", "data")
    return os.environ.get("NEUROLOOP_DATA_DIR", default)


def picked_indices(n):
    """The first five, three around the middle and the last sample index."""
    middle = n // 2
    wanted = set(range(5)) | {middle - 1, middle, middle + 1, n - 1}
    return sorted(i for i in wanted if 0 <= i < n)


def meas_date(raw):
    date = raw.info["meas_date"]
    if date is None:
        return None
    return {
        "iso": date.isoformat(),
        "fields": [
            date.year,
            date.month,
            date.day,
            date.hour,
            date.minute,
            date.second,
            date.microsecond,
        ],
    }


def summarise(path):
    import mne

    raw = mne.io.read_raw_brainvision(path, preload=True, verbose="error")
    data = raw.get_data()  # volts, float64
    n = data.shape[1]
    indices = picked_indices(n)
    units = raw._orig_units
    return {
        "ch_names": list(raw.ch_names),
        "ch_types": list(raw.get_channel_types()),
        "units": [units[name] for name in raw.ch_names],
        "sfreq": float(raw.info["sfreq"]),
        "n_samples": int(n),
        "indices": indices,
        "values_v": [[float(row[i]) for i in indices] for row in data],
        "sum_v": [float(v) for v in data.sum(axis=1)],
        "sum_sq_v2": [float(v) for v in (data * data).sum(axis=1)],
        "annotations": [
            {"onset": float(a["onset"]), "duration": float(a["duration"]),
             "description": str(a["description"])}
            for a in raw.annotations
        ],
        "meas_date": meas_date(raw),
        "mne_version": mne.__version__,
    }


def main():
    root = data_dir()
    files = {}
    for path in sorted(glob.glob(os.path.join(root, FOLDER, "*.vhdr"))):
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        files[relative] = summarise(path)
    if not files:
        sys.exit(f"no .vhdr files under {os.path.join(root, FOLDER)}")
    out_path = os.path.join(HERE, "brainvision.json")
    with open(out_path, "w") as out:
        json.dump(files, out, sort_keys=True, separators=(",", ":"))
        out.write("\n")
    print("wrote", out_path, os.path.getsize(out_path), "bytes")


if __name__ == "__main__":
    main()
