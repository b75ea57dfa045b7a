"""Golden numbers for the EEGLAB reader (formats/src/eeglab.rs), from MNE.

Usage: .venv/bin/python formats/tests/golden/generate_eeglab.py [DATA_DIR]

Reads EEGLAB/test_raw.set (+ .fdt) from the MNE testing data with mne.io.read_raw_eeglab and
writes eeglab.json next to this script: channel names and types, sfreq, n_samples, for every
channel the values (in volts, as MNE returns them) at fixed sample indices and the sum and
sum of squares, and the annotations as MNE shows them. When pymatreader is not installed MNE
reads the MAT-file with scipy.io.loadmat, which is recorded in the JSON.
"""

import importlib.util
import json
import sys
from pathlib import Path

import mne
import numpy as np
import scipy

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[3] / "shared" / "data"
FILES = ["formats_mne_testing_data/EEGLAB/test_raw.set"]
# First, second, a few inside, the last: catches an order or offset mistake in the .fdt layout.
INDICES = [0, 1, 2, 127, 1000, 15251, 30502, 30503]


def summarise(path):
    raw = mne.io.read_raw_eeglab(path, preload=True, verbose="error")
    data = raw.get_data()  # volts, float64
    indices = [i for i in INDICES if i < raw.n_times]
    channels = []
    for name, kind, row in zip(raw.ch_names, raw.get_channel_types(), data):
        channels.append(
            {
                "name": name,
                "type": kind,
                "values_at": [float(row[i]) for i in indices],
                "sum": float(np.sum(row, dtype=np.float64)),
                "sum_of_squares": float(np.sum(row.astype(np.float64) ** 2)),
            }
        )
    annotations = [
        {
            "onset": float(a["onset"]),
            "duration": float(a["duration"]),
            "description": str(a["description"]),
        }
        for a in raw.annotations
    ]
    return {
        "sfreq": float(raw.info["sfreq"]),
        "n_samples": int(raw.n_times),
        "indices": indices,
        "channels": channels,
        "annotations": annotations,
    }


def main():
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA
    reader = (
        "pymatreader"
        if importlib.util.find_spec("pymatreader")
        else "scipy.io.loadmat (pymatreader absent)"
    )
    golden = {
        "_generator": {
            "mne": mne.__version__,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
            "mat_reader": reader,
            "units": "volts, as MNE returns them (the file stores microvolts)",
        }
    }
    for relative in FILES:
        golden[relative] = summarise(data_dir / relative)
    out = HERE / "eeglab.json"
    out.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
