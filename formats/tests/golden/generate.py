"""Regenerate the golden numbers the formats tests compare against.

Run from the workspace root with the project's Python environment:

    .venv/bin/python formats/tests/golden/generate.py [DATA_DIR]

DATA_DIR defaults to $NEUROLOOP_DATA_DIR or ../shared/data. The script needs numpy, pyxdf,
pyedflib and mne. It writes small JSON summaries (counts, sums, first/last values, time
stamps, annotations) next to itself; the data files themselves are never copied.
"""

import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def data_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    default = os.path.join(HERE, "..", "..", "..", "..", "shared", "data")
    return os.environ.get("NEUROLOOP_DATA_DIR", default)


def rel(path, root):
    return os.path.relpath(path, root).replace(os.sep, "/")


def floats(values):
    return [float(v) for v in values]


def write(name, payload):
    path = os.path.join(HERE, name)
    with open(path, "w") as out:
        json.dump(payload, out, sort_keys=True, separators=(",", ":"))
        out.write("\n")
    print("wrote", path)


def xdf_golden(root):
    import pyxdf

    configs = {
        "raw": dict(synchronize_clocks=False, dejitter_timestamps=False),
        "sync": dict(synchronize_clocks=True, dejitter_timestamps=False),
        "sync_dejitter": dict(synchronize_clocks=True, dejitter_timestamps=True),
    }
    files = {}
    for path in sorted(glob.glob(os.path.join(root, "xdf", "**", "*.xdf"), recursive=True)):
        per_config = {}
        for config_name, kwargs in configs.items():
            streams, _ = pyxdf.load_xdf(path, **kwargs)
            summary = []
            for stream in streams:
                info = stream["info"]
                stamps = np.asarray(stream["time_stamps"], dtype=float)
                n = len(stamps)
                picks = sorted({0, n // 2, n - 1}) if n else []
                entry = {
                    "id": int(info["stream_id"]),
                    "name": info["name"][0],
                    "type": (info.get("type") or [""])[0] or "",
                    "channel_format": info["channel_format"][0],
                    "channel_count": int(info["channel_count"][0]),
                    "nominal_srate": float(info["nominal_srate"][0]),
                    "sample_count": n,
                    "timestamp_indices": picks,
                    "timestamps": [float(stamps[i]) for i in picks],
                    "effective_srate": float(info["effective_srate"]),
                    "clock_offset_count": len(stream["clock_times"]),
                    "clock_segments": [list(map(int, s)) for s in info["clock_segments"]],
                    "segments": [list(map(int, s)) for s in info["segments"]],
                }
                series = stream["time_series"]
                if info["channel_format"][0] == "string":
                    entry["first_values"] = list(series[0]) if n else []
                    entry["last_values"] = list(series[-1]) if n else []
                else:
                    array = np.asarray(series, dtype=np.float64)
                    entry["first_values"] = floats(array[0]) if n else []
                    entry["last_values"] = floats(array[-1]) if n else []
                    entry["channel_sums"] = floats(array.sum(axis=0)) if n else []
                summary.append(entry)
            per_config[config_name] = sorted(summary, key=lambda e: e["id"])
        files[rel(path, root)] = per_config
    write("xdf.json", files)


def edf_paths(root):
    patterns = [
        "formats_mne_testing_data/EDF/*.edf",
        "formats_mne_testing_data/BDF/*.bdf",
        "formats_pyedflib_generator/*.?df",
        "sleepedf_SC4001_first5min/*.?df",
        "mi_eegmmidb_S001/*.edf",
        "spindles_dreams/excerpt3.edf",
    ]
    paths = []
    for pattern in patterns:
        paths.extend(sorted(glob.glob(os.path.join(root, pattern))))
    return paths


def edf_golden(root):
    import mne
    import pyedflib

    mne.set_log_level("ERROR")
    files = {}
    for path in edf_paths(root):
        entry = {}
        try:
            reader = pyedflib.EdfReader(path)
        except OSError as error:
            # pyedflib refuses files whose digital range exceeds the sample width (the DREAMS
            # EDF); MNE reads them, so its values serve for the microvolt channels.
            entry["pyedflib_error"] = str(error)
            reader = None
        if reader is not None:
            edf_pyedflib(reader, entry)
        if path.endswith(".bdf"):
            raw = mne.io.read_raw_bdf(path, preload=True)
        else:
            raw = mne.io.read_raw_edf(path, preload=True)
        entry["mne_annotations"] = [
            [float(a["onset"]), float(a["duration"]), str(a["description"])]
            for a in raw.annotations
        ]
        entry["mne_n_times"] = int(raw.n_times)
        entry["mne_sfreq"] = float(raw.info["sfreq"])
        if reader is None:
            # MNE resamples slower signals to the fastest rate and scales known units to SI;
            # undo the scaling and keep only the signals at the fastest rate.
            data = raw.get_data()
            extras = raw._raw_extras[0]
            scales = extras["units"]
            per_record = list(extras["n_samps"])
            fastest = max(per_record)
            channels = []
            for index, name in enumerate(raw.ch_names):
                channel = {"label": name}
                if per_record[index] == fastest:
                    values = data[index] / scales[index]
                    channel["physical_first"] = floats(values[:3])
                    channel["physical_sum"] = float(values.sum())
                channels.append(channel)
            entry["mne_channels"] = channels
        files[rel(path, root)] = entry
    write("edf.json", files)


def edf_pyedflib(reader, entry):
    try:
        signals = []
        count = reader.signals_in_file
        # Every signal's label and size, but full value checks for a few signals only, so the
        # committed numbers stay small.
        entry["labels"] = [reader.getLabel(index) for index in range(count)]
        entry["sample_counts"] = [int(n) for n in reader.getNSamples()]
        detailed = sorted({0, 1, 2, count // 2, count - 3, count - 2, count - 1} & set(range(count)))
        for index in detailed:
            digital = reader.readSignal(index, digital=True).astype(np.int64)
            physical = reader.readSignal(index)
            header = reader.getSignalHeader(index)
            signals.append(
                {
                    "index": index,
                    "label": reader.getLabel(index),
                    "sample_rate": float(reader.getSampleFrequency(index)),
                    "sample_count": int(len(digital)),
                    "dimension": header["dimension"],
                    "physical_min": float(header["physical_min"]),
                    "physical_max": float(header["physical_max"]),
                    "digital_min": int(header["digital_min"]),
                    "digital_max": int(header["digital_max"]),
                    "prefilter": header["prefilter"],
                    "transducer": header["transducer"],
                    "digital_sum": int(digital.sum()),
                    "digital_first": [int(v) for v in digital[:3]],
                    "digital_last": int(digital[-1]) if len(digital) else None,
                    "physical_first": floats(physical[:3]),
                    "physical_last": float(physical[-1]) if len(physical) else None,
                    "physical_sum": float(np.sum(physical, dtype=np.float64)),
                }
            )
        onsets, durations, texts = reader.readAnnotations()
        entry["pyedflib_signals"] = signals
        entry["pyedflib_annotations"] = [
            [float(o), float(d), str(t)] for o, d, t in zip(onsets, durations, texts)
        ]
        start = reader.getStartdatetime()
        entry["pyedflib_start"] = [
            start.year, start.month, start.day, start.hour, start.minute, start.second,
        ]
        entry["datarecords"] = int(reader.datarecords_in_file)
        entry["record_duration"] = float(reader.datarecord_duration)
    finally:
        reader.close()


def layouts_golden(root):
    out = {"npy": {}, "events": {}, "dreams": {}, "muse": {}}
    for path in sorted(glob.glob(os.path.join(root, "ssvep_exoskeleton_kalunga2016", "npy", "*.npy"))):
        array = np.load(path)
        out["npy"][rel(path, root)] = {
            "shape": list(array.shape),
            "dtype": str(array.dtype),
            "fortran_order": bool(np.isfortran(array)),
            "column_sums": floats(array.astype(np.float64).sum(axis=0)),
            "first_row": floats(array[0]),
            "last_row": floats(array[-1]),
        }
    for path in sorted(glob.glob(os.path.join(root, "ssvep_exoskeleton_kalunga2016", "npy", "*_events.csv"))):
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
        out["events"][rel(path, root)] = {
            "count": int(len(table)),
            "first": [int(v) for v in table[0]],
            "last": [int(v) for v in table[-1]],
            "code_sum": int(table[:, 1].sum()),
        }
    for path in sorted(glob.glob(os.path.join(root, "spindles_dreams", "*.txt"))):
        name = os.path.basename(path)
        if name.startswith("DREAMS") or name.startswith("SOURCE"):
            continue
        with open(path) as handle:
            title = handle.readline().strip()
        values = np.loadtxt(path, skiprows=1, ndmin=2)
        out["dreams"][rel(path, root)] = {
            "title": title,
            "rows": int(values.shape[0]),
            "column_sums": floats(values.sum(axis=0)),
            "first_row": floats(values[0]),
            "last_row": floats(values[-1]),
        }
    for path in sorted(glob.glob(os.path.join(root, "ssvep_muse_eegnotebooks", "*.csv"))):
        table = np.genfromtxt(path, delimiter=",", names=True)
        names = list(table.dtype.names)
        out["muse"][rel(path, root)] = {
            "rows": int(len(table)),
            "column_sums": {n: float(np.sum(table[n], dtype=np.float64)) for n in names},
            "first_timestamp": float(table[names[0]][0]),
            "last_timestamp": float(table[names[0]][-1]),
            "nonzero_markers": int(np.count_nonzero(table[names[-1]])),
        }
    write("layouts.json", out)


def main():
    root = os.path.abspath(data_dir())
    if not os.path.isdir(root):
        sys.exit(f"data directory {root} does not exist")
    xdf_golden(root)
    edf_golden(root)
    layouts_golden(root)


if __name__ == "__main__":
    main()
