"""Regenerate the golden numbers of the FIF reader tests (formats/tests/fif_files.rs).

Run from the workspace root with the project's Python environment (numpy and MNE):

    .venv/bin/python formats/tests/golden/generate_fif.py [DATA_DIR]

DATA_DIR defaults to $NEUROLOOP_DATA_DIR or ../shared/data. The script reads the MNE raw file
and events file of the SSVEP exoskeleton set (formats_real_gdf_fif/) with
mne.io.read_raw_fif and mne.read_events and writes a small summary to fif.json next to
itself: channel names, kinds and units, calibration, rate, first sample, sample count, line
frequency, measurement date, per channel a few values at fixed indices with their sum and sum
of squares, the annotations and all events. The data files are never copied.
"""

import json
import math
import os
import sys

import mne
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = "formats_real_gdf_fif/s01_2012.07.06-19.02.16_raw.fif"
EVENTS = "formats_real_gdf_fif/s01_2012.07.06-19.02.16-eve.fif"


def data_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    default = os.path.join(HERE, "..", "..", "..", "..", "shared", "data")
    return os.environ.get("NEUROLOOP_DATA_DIR", default)


def sample_indices(n):
    middle = n // 2
    fixed = [0, 1, 2, 3, 4, middle - 1, middle, middle + 1, 1000, 12345, n - 2, n - 1]
    return sorted({i for i in fixed if 0 <= i < n})


def raw_summary(path):
    raw = mne.io.read_raw_fif(path, preload=True, verbose="error")
    data = raw.get_data()  # float64, physical values in the channels' units, as stored
    n = data.shape[1]
    indices = sample_indices(n)
    channels = []
    for ch, kind_name, row in zip(raw.info["chs"], raw.get_channel_types(), data):
        channels.append(
            {
                "name": ch["ch_name"],
                "kind_code": int(ch["kind"]),
                "type": kind_name,
                "unit_code": int(ch["unit"]),
                "unit_mul": int(ch["unit_mul"]),
                "cal": float(ch["cal"]),
                "range": float(ch["range"]),
                "values": [float(row[i]) for i in indices],
                "sum": math.fsum(row.tolist()),
                "sum_of_squares": math.fsum((row * row).tolist()),
            }
        )
    meas_date = raw.info["meas_date"]
    annotations = raw.annotations
    return {
        "file": RAW,
        "sfreq": float(raw.info["sfreq"]),
        "first_samp": int(raw.first_samp),
        "n_samples": int(n),
        "line_freq": raw.info["line_freq"],
        "lowpass": raw.info["lowpass"],
        "highpass": raw.info["highpass"],
        "orig_format": raw.orig_format,
        "meas_date_iso": meas_date.isoformat() if meas_date else None,
        "meas_date_timestamp": meas_date.timestamp() if meas_date else None,
        "sample_indices": indices,
        "channels": channels,
        # Onsets relative to the first sample, as the reader reports them.
        "annotations": [
            {
                "onset_s": float(onset - raw.first_time),
                "duration_s": float(duration),
                "description": str(description),
            }
            for onset, duration, description in zip(
                annotations.onset, annotations.duration, annotations.description
            )
        ],
    }


def events_summary(path, first_samp, sfreq):
    events = mne.read_events(path, verbose="error")
    return {
        "file": EVENTS,
        "events": [[int(s), int(p), int(c)] for s, p, c in events],
        "annotations": [
            {"onset_s": float((s - first_samp) / sfreq), "label": str(int(c))}
            for s, _, c in events
        ],
    }


def main():
    root = data_dir()
    raw = raw_summary(os.path.join(root, RAW))
    events = events_summary(os.path.join(root, EVENTS), raw["first_samp"], raw["sfreq"])
    payload = {"mne_version": mne.__version__, "raw": raw, "events": events}
    path = os.path.join(HERE, "fif.json")
    with open(path, "w") as out:
        json.dump(payload, out, sort_keys=True, indent=1)
        out.write("\n")
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
