//! EEGLAB reader checks: the shared `test_raw.set` (+ `.fdt`) against golden numbers from MNE
//! (`tests/golden/generate_eeglab.py`); other layouts (embedded data, compressed variables,
//! top-level fields, a renamed `.fdt`) written by scipy and read by MNE at test time; and
//! damaged or unsupported inputs built from synthetic MAT-files, each of which must give a clear
//! error and never panic.

mod common;

use std::path::Path;
use std::process::Command;

use common::{as_f64, as_usize, data_path, golden, python, scratch_dir, skip_notice};
use neuroloop_formats::eeglab::{self, DataSource, EeglabProblem, SetLayout};
use neuroloop_formats::{ChannelKind, Recording};

const TEST_SET: &str = "formats_mne_testing_data/EEGLAB/test_raw.set";

/// MNE returns volts; EEGLAB stores microvolts.
const VOLTS_PER_MICROVOLT: f64 = 1e-6;

// ---------------------------------------------------------------------------------------------
// Comparison with MNE

/// Checks a recording against an MNE summary (the golden JSON, or one printed at test time).
fn check_against_mne(recording: &Recording, expected: &serde_json::Value, context: &str) {
    let channels = expected["channels"].as_array().unwrap();
    assert_eq!(recording.channels.len(), channels.len(), "{context}");
    let n_samples = as_usize(&expected["n_samples"]);
    let sfreq = as_f64(&expected["sfreq"]);
    let indices: Vec<usize> = expected["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(as_usize)
        .collect();
    for ((info, samples), channel) in recording.channels.iter().zip(&recording.data).zip(channels) {
        let context = format!("{context}, channel {}", info.label);
        assert_eq!(info.label, channel["name"].as_str().unwrap(), "{context}");
        assert_eq!(
            info.kind.name(),
            channel["type"].as_str().unwrap(),
            "{context}"
        );
        assert_eq!(info.unit, "uV", "{context}");
        assert_eq!(info.sample_rate_hz, sfreq, "{context}");
        assert_eq!(samples.len(), n_samples, "{context}");
        let volts: Vec<f64> = samples.iter().map(|v| v * VOLTS_PER_MICROVOLT).collect();
        for (&index, value) in indices.iter().zip(channel["values_at"].as_array().unwrap()) {
            let expected = as_f64(value);
            // Float32 precision: both sides hold the same float32 sample times 1e-6.
            let tolerance = 1e-7 * expected.abs() + 1e-18;
            let got = volts[index];
            assert!(
                (got - expected).abs() <= tolerance,
                "{context}, sample {index}: got {got:e}, MNE {expected:e}"
            );
        }
        let sum: f64 = volts.iter().sum();
        let sum_abs: f64 = volts.iter().map(|v| v.abs()).sum();
        let expected_sum = as_f64(&channel["sum"]);
        assert!(
            (sum - expected_sum).abs() <= 1e-7 * sum_abs,
            "{context}: sum {sum:e}, MNE {expected_sum:e}"
        );
        let squares: f64 = volts.iter().map(|v| v * v).sum();
        let expected_squares = as_f64(&channel["sum_of_squares"]);
        assert!(
            (squares - expected_squares).abs() <= 1e-7 * expected_squares,
            "{context}: sum of squares {squares:e}, MNE {expected_squares:e}"
        );
    }
    check_annotations(recording, &expected["annotations"], context);
}

fn check_annotations(recording: &Recording, expected: &serde_json::Value, context: &str) {
    let expected = expected.as_array().unwrap();
    assert_eq!(recording.annotations.len(), expected.len(), "{context}");
    for (index, (ours, theirs)) in recording.annotations.iter().zip(expected).enumerate() {
        let context = format!("{context}, annotation {index}");
        assert_eq!(
            ours.label,
            theirs["description"].as_str().unwrap(),
            "{context}"
        );
        // MNE rounds onsets to whole microseconds when it crops annotations to the data.
        let onset = as_f64(&theirs["onset"]);
        assert!(
            (ours.onset_s - onset).abs() <= 1e-6,
            "{context}: onset {} s, MNE {onset} s",
            ours.onset_s
        );
        // MNE reports an empty duration as NaN (written as null); this reader uses 0.
        let duration = theirs["duration"].as_f64().unwrap_or(0.0);
        assert!(
            (ours.duration_s - duration).abs() <= 1e-6,
            "{context}: duration {} s, MNE {duration} s",
            ours.duration_s
        );
    }
}

#[test]
fn shared_dataset_matches_mne() {
    let golden = golden("eeglab.json");
    let Some(path) = data_path(TEST_SET) else {
        return;
    };
    let expected = &golden[TEST_SET];
    let file = eeglab::read(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(file.layout, SetLayout::EegVariable);
    assert_eq!(
        file.data_source,
        DataSource::Fdt {
            name: "test_raw.fdt".to_owned()
        }
    );
    assert_eq!((file.nbchan, file.pnts), (32, 30504));
    assert_eq!(file.srate_hz, 128.0);
    assert_eq!(file.setname, "Continuous EEG Data");
    assert!(file.chanlocs.is_empty());
    assert_eq!(file.events.len(), 154);
    assert_eq!(file.events[0].label, "square");
    assert_eq!(file.events[0].latency_samples, 129.00875);
    let recording = neuroloop_formats::read_recording(&path).unwrap();
    assert_eq!(recording, file.to_recording());
    assert!(
        recording
            .channels
            .iter()
            .all(|c| c.kind == ChannelKind::Eeg)
    );
    check_against_mne(&recording, expected, TEST_SET);
}

/// The script run at test time: writes variants of `test_raw.set` with scipy and prints MNE's
/// summary of each as JSON.
const VARIANTS_SCRIPT: &str = r#"
import json, shutil, sys, warnings
from pathlib import Path
import numpy as np
import scipy.io as sio
import mne

source, out = Path(sys.argv[1]), Path(sys.argv[2])
eeg = sio.loadmat(source, squeeze_me=True, struct_as_record=False)["EEG"]
nbchan, pnts = int(eeg.nbchan), int(eeg.pnts)
fdt = np.fromfile(source.with_suffix(".fdt"), "<f4")
data = fdt.reshape(pnts, nbchan).T  # nbchan x pnts, as EEGLAB holds it

labels = ["HEOG", "ECG1"] + [f"Ch{i}" for i in range(2, nbchan)]
types = ["EOG", "ECG"] + ["EEG"] * (nbchan - 2)
chanlocs = np.zeros((1, nbchan), dtype=[("labels", object), ("type", object)])
for i in range(nbchan):
    chanlocs[0, i] = (labels[i], types[i])

orig = eeg.event
rows = [(str(e.type), float(e.latency), 0.0) for e in orig[:20]]
# Numeric types (stored as int64 and as double), durations (one empty), an event before the
# first sample, one after the last, one overlapping the end, one with a NaN latency.
rows += [(3, 500.0, 10.0), (4.5, 600.0, np.zeros((0, 0))), (7.0, 700.0, 2.5)]
rows += [("early", 0.5, 0.0), ("late", pnts + 5.0, 0.0), ("tail", pnts - 10.0, 100.0)]
rows += [("nan", np.nan, 0.0)]
event = np.zeros((1, len(rows)), dtype=[("type", object), ("latency", object), ("duration", object)])
for i, row in enumerate(rows):
    event[0, i] = row

fields = dict(setname="variant", nbchan=float(nbchan), trials=1.0, pnts=float(pnts),
              srate=128.0, xmin=0.0, chanlocs=chanlocs, event=event)

variants = {}
p = out / "embedded_compressed.set"
sio.savemat(p, {"EEG": dict(fields, data=data.astype(np.float32))}, do_compression=True)
variants["embedded_compressed"] = p
p = out / "toplevel.set"
sio.savemat(p, dict(fields, data=data.astype(np.float64)))
variants["toplevel"] = p
p = out / "renamed_fdt.set"
sio.savemat(p, {"EEG": dict(fields, data="old_name.fdt")}, do_compression=True)
shutil.copy(source.with_suffix(".fdt"), out / "renamed_fdt.fdt")
variants["renamed_fdt"] = p

result = {}
for name, path in variants.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = mne.io.read_raw_eeglab(path, preload=True, verbose="error")
    d = raw.get_data()
    idx = [0, 1, 1000, pnts - 1]
    result[name] = dict(
        path=str(path), sfreq=float(raw.info["sfreq"]), n_samples=int(raw.n_times), indices=idx,
        channels=[dict(name=n, type=t, values_at=[float(r[i]) for i in idx],
                       sum=float(r.sum()), sum_of_squares=float((r * r).sum()))
                  for n, t, r in zip(raw.ch_names, raw.get_channel_types(), d)],
        annotations=[dict(onset=float(a["onset"]),
                          duration=None if np.isnan(a["duration"]) else float(a["duration"]),
                          description=str(a["description"])) for a in raw.annotations])
print(json.dumps(result))
"#;

#[test]
fn scipy_written_layouts_match_mne() {
    let Some(source) = data_path(TEST_SET) else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    let dir = scratch_dir("eeglab_variants");
    let output = Command::new(&python)
        .arg("-c")
        .arg(VARIANTS_SCRIPT)
        .arg(&source)
        .arg(&dir)
        .output()
        .unwrap();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("ModuleNotFoundError") {
            skip_notice(&format!("scipy or MNE is missing: {stderr}"));
            return;
        }
        panic!("variant script failed: {stderr}");
    }
    let summaries: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let original = eeglab::read(&source).unwrap();
    for (name, expected) in summaries.as_object().unwrap() {
        let path = Path::new(expected["path"].as_str().unwrap());
        let file = eeglab::read(path).unwrap_or_else(|error| panic!("{name}: {error}"));
        // Same samples as the .set + .fdt original, whatever the layout.
        assert_eq!(file.data_uv, original.data_uv, "{name}");
        let recording = file.to_recording();
        check_against_mne(&recording, expected, name);
        assert_eq!(recording.channels[0].kind, ChannelKind::Eog, "{name}");
        assert_eq!(recording.channels[1].kind, ChannelKind::Ecg, "{name}");
        let layout = if name == "toplevel" {
            SetLayout::TopLevelFields
        } else {
            SetLayout::EegVariable
        };
        assert_eq!(file.layout, layout, "{name}");
        let labels: Vec<&str> = recording
            .annotations
            .iter()
            .map(|a| a.label.as_str())
            .collect();
        for label in ["3", "4.5", "7.0", "tail"] {
            assert!(labels.contains(&label), "{name}: no annotation {label:?}");
        }
        for label in ["early", "late", "nan"] {
            assert!(
                !labels.contains(&label),
                "{name}: annotation {label:?} kept"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Synthetic MAT-files

const MI_INT8: u32 = 1;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;

/// A MATLAB array for the synthetic files.
#[derive(Clone)]
enum M {
    Double(Vec<usize>, Vec<f64>),
    Single(Vec<usize>, Vec<f32>),
    Text(String),
    /// Dimensions, field names and, per element, the value of each field.
    Struct(Vec<usize>, Vec<String>, Vec<Vec<M>>),
    Cell(Vec<M>),
    /// `[]` as MATLAB writes it in struct fields: an array element of no bytes.
    Empty,
}

fn scalar(value: f64) -> M {
    M::Double(vec![1, 1], vec![value])
}

fn text(value: &str) -> M {
    M::Text(value.to_owned())
}

/// Byte-order aware element writer.
struct Writer {
    big_endian: bool,
}

impl Writer {
    fn u32(&self, value: u32) -> [u8; 4] {
        if self.big_endian {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        }
    }

    fn element(&self, kind: u32, data: &[u8]) -> Vec<u8> {
        let mut out = self.u32(kind).to_vec();
        out.extend(self.u32(data.len() as u32));
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        out
    }

    fn words(&self, values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|&v| self.u32(v)).collect()
    }

    fn matrix(&self, name: &str, value: &M) -> Vec<u8> {
        let (class, dims, body): (u32, Vec<usize>, Vec<u8>) = match value {
            M::Empty => return self.element(MI_MATRIX, &[]),
            M::Double(dims, values) => {
                let bytes: Vec<u8> = values
                    .iter()
                    .flat_map(|v| {
                        if self.big_endian {
                            v.to_be_bytes()
                        } else {
                            v.to_le_bytes()
                        }
                    })
                    .collect();
                (6, dims.clone(), self.element(MI_DOUBLE, &bytes))
            }
            M::Single(dims, values) => {
                let bytes: Vec<u8> = values
                    .iter()
                    .flat_map(|v| {
                        if self.big_endian {
                            v.to_be_bytes()
                        } else {
                            v.to_le_bytes()
                        }
                    })
                    .collect();
                (7, dims.clone(), self.element(MI_SINGLE, &bytes))
            }
            M::Text(text) => {
                let units: Vec<u8> = text
                    .encode_utf16()
                    .flat_map(|u| {
                        if self.big_endian {
                            u.to_be_bytes()
                        } else {
                            u.to_le_bytes()
                        }
                    })
                    .collect();
                let dims = vec![1, text.encode_utf16().count()];
                (4, dims, self.element(MI_UINT16, &units))
            }
            M::Struct(dims, names, elements) => {
                let mut body = self.element(MI_INT32, &self.u32(32));
                let mut name_bytes = Vec::new();
                for name in names {
                    let mut padded = name.as_bytes().to_vec();
                    padded.resize(32, 0);
                    name_bytes.extend(padded);
                }
                body.extend(self.element(MI_INT8, &name_bytes));
                for element in elements {
                    for field in element {
                        body.extend(self.matrix("", field));
                    }
                }
                (2, dims.clone(), body)
            }
            M::Cell(elements) => {
                let body = elements.iter().flat_map(|e| self.matrix("", e)).collect();
                (1, vec![1, elements.len()], body)
            }
        };
        let dims: Vec<u32> = dims.iter().map(|&d| d as u32).collect();
        let mut content = self.element(MI_UINT32, &self.words(&[class, 0]));
        content.extend(self.element(MI_INT32, &self.words(&dims)));
        content.extend(self.element(MI_INT8, name.as_bytes()));
        content.extend(body);
        self.element(MI_MATRIX, &content)
    }

    fn file(&self, variables: &[(&str, M)], compress: bool) -> Vec<u8> {
        let mut out = b"MATLAB 5.0 MAT-file, written by the neuroloop tests".to_vec();
        out.resize(116, b' ');
        out.extend([0u8; 8]);
        if self.big_endian {
            out.extend([0x01, 0x00]);
            out.extend(b"MI");
        } else {
            out.extend([0x00, 0x01]);
            out.extend(b"IM");
        }
        for (name, value) in variables {
            let matrix = self.matrix(name, value);
            if compress {
                let packed = miniz_oxide::deflate::compress_to_vec_zlib(&matrix, 6);
                out.extend(self.u32(MI_COMPRESSED));
                out.extend(self.u32(packed.len() as u32));
                out.extend(packed);
            } else {
                out.extend(matrix);
            }
        }
        out
    }
}

fn little() -> Writer {
    Writer { big_endian: false }
}

/// A 1×n struct array from field names and per-element values.
fn struct_array(names: &[&str], elements: Vec<Vec<M>>) -> M {
    M::Struct(
        vec![1, elements.len()],
        names.iter().map(|n| (*n).to_owned()).collect(),
        elements,
    )
}

/// `(name, value)` fields of a small dataset: 3 channels, 4 samples, values `10·c + s`.
fn fields(data: M) -> Vec<(&'static str, M)> {
    vec![
        ("setname", text("synthetic")),
        ("nbchan", scalar(3.0)),
        ("trials", scalar(1.0)),
        ("pnts", scalar(4.0)),
        ("srate", scalar(250.0)),
        ("xmin", scalar(0.0)),
        ("data", data),
        (
            "chanlocs",
            struct_array(
                &["labels", "type"],
                vec![
                    vec![text("Fz"), text("EEG")],
                    vec![text("VEOG"), text("EOG")],
                    vec![text("Status"), M::Empty],
                ],
            ),
        ),
        (
            "event",
            struct_array(
                &["type", "latency", "duration"],
                vec![
                    vec![text("stim"), scalar(2.0), scalar(1.0)],
                    vec![scalar(5.0), scalar(1.0), M::Empty],
                ],
            ),
        ),
    ]
}

/// Channel-major values `10·c + s` in MATLAB's column-major `nbchan × pnts` order.
fn embedded_values() -> M {
    let mut values = Vec::new();
    for sample in 0..4 {
        for channel in 0..3 {
            values.push((10 * channel + sample) as f32);
        }
    }
    M::Single(vec![3, 4], values)
}

fn fdt_bytes() -> Vec<u8> {
    let mut bytes = Vec::new();
    for sample in 0..4 {
        for channel in 0..3 {
            bytes.extend(((10 * channel + sample) as f32).to_le_bytes());
        }
    }
    bytes
}

fn eeg_struct(fields: Vec<(&'static str, M)>) -> M {
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    struct_array(&names, vec![fields.into_iter().map(|(_, v)| v).collect()])
}

fn set_file(fields: Vec<(&'static str, M)>) -> Vec<u8> {
    little().file(&[("EEG", eeg_struct(fields))], false)
}

fn refusal(result: Result<eeglab::EeglabFile, eeglab::EeglabError>) -> (EeglabProblem, String) {
    let error = result.expect_err("the input must be refused");
    let message = error.to_string();
    (error.problem().cloned().expect("a content error"), message)
}

fn check_synthetic(file: &eeglab::EeglabFile) {
    let expected: Vec<Vec<f64>> = (0..3)
        .map(|c| (0..4).map(|s| f64::from(10 * c + s)).collect())
        .collect();
    assert_eq!(file.data_uv, expected);
    let recording = file.to_recording();
    let labels: Vec<&str> = recording
        .channels
        .iter()
        .map(|c| c.label.as_str())
        .collect();
    assert_eq!(labels, ["Fz", "VEOG", "Status"]);
    let kinds: Vec<ChannelKind> = recording.channels.iter().map(|c| c.kind).collect();
    // `Status` has no type, so its kind comes from the label.
    assert_eq!(
        kinds,
        [ChannelKind::Eeg, ChannelKind::Eog, ChannelKind::Stim]
    );
    assert!(recording.channels.iter().all(|c| c.unit == "uV"));
    let annotations: Vec<(f64, f64, &str)> = recording
        .annotations
        .iter()
        .map(|a| (a.onset_s, a.duration_s, a.label.as_str()))
        .collect();
    // Sorted by onset: latency 1 → 0 s; latency 2 → 1/250 s with a 1-sample duration.
    assert_eq!(annotations, [(0.0, 0.0, "5.0"), (0.004, 0.004, "stim")]);
}

#[test]
fn embedded_data_in_every_byte_order_and_compression() {
    for big_endian in [false, true] {
        for compress in [false, true] {
            let writer = Writer { big_endian };
            let bytes = writer.file(&[("EEG", eeg_struct(fields(embedded_values())))], compress);
            let file = eeglab::parse(&bytes, None)
                .unwrap_or_else(|error| panic!("{big_endian} {compress}: {error}"));
            assert_eq!(file.layout, SetLayout::EegVariable);
            assert_eq!(file.data_source, DataSource::Embedded);
            check_synthetic(&file);
        }
    }
}

#[test]
fn top_level_fields_with_a_companion_fdt() {
    let variables = fields(text("synthetic.fdt"));
    let bytes = little().file(&variables, true);
    let file = eeglab::parse(&bytes, Some(&fdt_bytes())).unwrap();
    assert_eq!(file.layout, SetLayout::TopLevelFields);
    check_synthetic(&file);

    // From disk, the .fdt is found next to the .set.
    let dir = scratch_dir("eeglab_synthetic_fdt");
    std::fs::write(dir.join("synthetic.set"), &bytes).unwrap();
    std::fs::write(dir.join("synthetic.fdt"), fdt_bytes()).unwrap();
    check_synthetic(&eeglab::read(dir.join("synthetic.set")).unwrap());
}

#[test]
fn nested_eeg_struct_is_followed() {
    let inner = eeg_struct(fields(embedded_values()));
    let bytes = little().file(&[("EEG", eeg_struct(vec![("EEG", inner)]))], false);
    check_synthetic(&eeglab::parse(&bytes, None).unwrap());
}

#[test]
fn not_a_mat_file_is_refused() {
    let mut bytes = b"Version 1.0 of something else entirely".to_vec();
    bytes.resize(300, b'x');
    let (problem, message) = refusal(eeglab::parse(&bytes, None));
    assert!(
        matches!(problem, EeglabProblem::NotMatFile { .. }),
        "{message}"
    );
    assert!(message.contains("not a MATLAB MAT-file"), "{message}");
    let (problem, _) = refusal(eeglab::parse(b"short", None));
    assert!(matches!(problem, EeglabProblem::NotMatFile { .. }));
    let (problem, _) = refusal(eeglab::parse(b"", None));
    assert!(matches!(problem, EeglabProblem::NotMatFile { .. }));
}

#[test]
fn mat_v73_header_names_the_problem_and_the_fix() {
    let mut bytes =
        b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan 1 HDF5 schema 1.00 ."
            .to_vec();
    bytes.resize(116, b' ');
    bytes.extend([0u8; 8]);
    bytes.extend([0x00, 0x02]);
    bytes.extend(b"IM");
    bytes.resize(512, 0);
    bytes.extend(b"\x89HDF\r\n\x1a\n");
    bytes.resize(2048, 0);
    let (problem, message) = refusal(eeglab::parse(&bytes, None));
    assert_eq!(problem, EeglabProblem::MatV73);
    for words in ["v7.3", "HDF5", "v6/v7", "pop_saveset", "EDF", "BrainVision"] {
        assert!(message.contains(words), "{message}");
    }
    // The version field alone (a header without the usual text) is recognised too.
    let mut plain = little().file(&[], false);
    plain[124..126].copy_from_slice(&[0x00, 0x02]);
    assert_eq!(
        refusal(eeglab::parse(&plain, None)).0,
        EeglabProblem::MatV73
    );
}

#[test]
fn truncated_files_give_errors_at_every_length() {
    for compress in [false, true] {
        let bytes = little().file(&[("EEG", eeg_struct(fields(embedded_values())))], compress);
        for length in 0..bytes.len() {
            let result = eeglab::parse(&bytes[..length], None);
            assert!(result.is_err(), "prefix of {length} bytes parsed");
        }
    }
    let Some(path) = data_path(TEST_SET) else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let (problem, message) = refusal(eeglab::parse(&bytes[..bytes.len() / 2], None));
    assert!(
        matches!(problem, EeglabProblem::Truncated { .. }),
        "{message}"
    );
    assert!(message.contains("byte offset 136"), "{message}");
}

#[test]
fn missing_fdt_is_reported() {
    let bytes = set_file(fields(text("synthetic.fdt")));
    let (problem, message) = refusal(eeglab::parse(&bytes, None));
    assert_eq!(
        problem,
        EeglabProblem::FdtMissing {
            name: "synthetic.fdt".to_owned()
        }
    );
    assert!(message.contains("synthetic.fdt"), "{message}");

    let dir = scratch_dir("eeglab_missing_fdt");
    let set = dir.join("alone.set");
    std::fs::write(&set, &bytes).unwrap();
    let (problem, message) = refusal(eeglab::read(&set));
    assert!(
        matches!(problem, EeglabProblem::FdtNotFound { .. }),
        "{message}"
    );
    // Both places MNE looks are named.
    assert!(
        message.contains("synthetic.fdt") && message.contains("alone.fdt"),
        "{message}"
    );
    assert!(message.contains("alone.set"), "{message}");
}

#[test]
fn fdt_of_the_wrong_size_is_refused() {
    let bytes = set_file(fields(text("synthetic.fdt")));
    let fdt = fdt_bytes();
    for length in [0, fdt.len() - 4, fdt.len() - 1, fdt.len() + 4] {
        let mut data = fdt.clone();
        data.resize(length, 0);
        let (problem, message) = refusal(eeglab::parse(&bytes, Some(&data)));
        assert!(
            matches!(problem, EeglabProblem::FdtSize { .. }),
            "{message}"
        );
        assert!(message.contains("3 × 4 × 4 = 48 bytes"), "{message}");
    }
    let Some(path) = data_path(TEST_SET) else {
        return;
    };
    let set = std::fs::read(&path).unwrap();
    let fdt = std::fs::read(path.with_extension("fdt")).unwrap();
    let (problem, _) = refusal(eeglab::parse(&set, Some(&fdt[..fdt.len() - 128])));
    assert!(matches!(problem, EeglabProblem::FdtSize { .. }));
}

#[test]
fn epoched_dataset_is_refused() {
    let mut variables = fields(M::Single(vec![3, 4, 2], vec![0.0; 24]));
    variables[2] = ("trials", scalar(2.0));
    let (problem, message) = refusal(eeglab::parse(&set_file(variables), None));
    assert_eq!(problem, EeglabProblem::Epoched { trials: 2 });
    assert!(
        message.contains("epoched datasets are not supported"),
        "{message}"
    );
}

#[test]
fn counts_inconsistent_with_the_data_are_refused() {
    // nbchan says 3 but the matrix has 2 rows.
    let values = M::Single(vec![2, 4], vec![0.0; 8]);
    let (problem, message) = refusal(eeglab::parse(&set_file(fields(values)), None));
    assert!(
        matches!(problem, EeglabProblem::DataShape { .. }),
        "{message}"
    );
    assert!(
        message.contains("2 × 4") && message.contains("3 × 4"),
        "{message}"
    );

    // pnts says 5 but the .fdt holds 4 samples of 3 channels.
    let mut variables = fields(text("synthetic.fdt"));
    variables[3] = ("pnts", scalar(5.0));
    let (problem, _) = refusal(eeglab::parse(&set_file(variables), Some(&fdt_bytes())));
    assert!(matches!(problem, EeglabProblem::FdtSize { .. }));

    // chanlocs lists 3 channels but nbchan is 2 (data 2 × 6 of the same 12 values).
    let mut variables = fields(M::Single(vec![2, 6], vec![0.0; 12]));
    variables[1] = ("nbchan", scalar(2.0));
    variables[3] = ("pnts", scalar(6.0));
    let (problem, _) = refusal(eeglab::parse(&set_file(variables), None));
    assert_eq!(
        problem,
        EeglabProblem::ChanlocsCount {
            chanlocs: 3,
            nbchan: 2
        }
    );

    // Counts that are not whole numbers, and no samples at all.
    let mut variables = fields(text("synthetic.fdt"));
    variables[1] = ("nbchan", scalar(2.5));
    let (problem, _) = refusal(eeglab::parse(&set_file(variables), Some(&fdt_bytes())));
    assert!(matches!(
        problem,
        EeglabProblem::BadField {
            field: "nbchan",
            ..
        }
    ));
    let mut variables = fields(text("synthetic.fdt"));
    variables[3] = ("pnts", scalar(0.0));
    let (problem, _) = refusal(eeglab::parse(&set_file(variables), Some(&[])));
    assert!(matches!(
        problem,
        EeglabProblem::BadField { field: "pnts", .. }
    ));
}

#[test]
fn missing_or_unusable_fields_are_named() {
    let without = |name: &str| -> Vec<u8> {
        set_file(
            fields(embedded_values())
                .into_iter()
                .filter(|(field, _)| *field != name)
                .collect(),
        )
    };
    let (problem, message) = refusal(eeglab::parse(&without("srate"), None));
    assert_eq!(problem, EeglabProblem::MissingField { field: "srate" });
    assert!(message.contains("EEG.srate is missing"), "{message}");
    let (problem, _) = refusal(eeglab::parse(&without("data"), None));
    assert_eq!(problem, EeglabProblem::MissingField { field: "data" });
    // Without nbchan and pnts the embedded matrix gives them, as MNE's defaults would not.
    let file = eeglab::parse(&without("nbchan"), None).unwrap();
    assert_eq!(file.nbchan, 3);

    let mut variables = fields(embedded_values());
    variables[4] = ("srate", scalar(-1.0));
    let (problem, _) = refusal(eeglab::parse(&set_file(variables), None));
    assert!(matches!(
        problem,
        EeglabProblem::BadField { field: "srate", .. }
    ));

    let mut variables = fields(embedded_values());
    variables[6] = ("data", M::Cell(vec![scalar(1.0)]));
    let (problem, _) = refusal(eeglab::parse(&set_file(variables), None));
    assert!(matches!(
        problem,
        EeglabProblem::BadField { field: "data", .. }
    ));

    // `.dat` data files of old EEGLAB versions and other names are refused by name.
    let dir = scratch_dir("eeglab_data_names");
    for (name, old) in [("x.dat", true), ("x.bin", false)] {
        let set = dir.join("names.set");
        std::fs::write(&set, set_file(fields(text(name)))).unwrap();
        let (problem, message) = refusal(eeglab::read(&set));
        if old {
            assert!(
                matches!(problem, EeglabProblem::OldDatFile { .. }),
                "{message}"
            );
        } else {
            assert!(matches!(problem, EeglabProblem::NotFdt { .. }), "{message}");
        }
    }
}

#[test]
fn other_mat_files_are_not_datasets() {
    let bytes = little().file(&[("x", scalar(1.0))], false);
    let (problem, message) = refusal(eeglab::parse(&bytes, None));
    assert!(
        matches!(problem, EeglabProblem::NotEeglab { .. }),
        "{message}"
    );

    let bytes = little().file(&[("ALLEEG", scalar(1.0))], false);
    assert_eq!(
        refusal(eeglab::parse(&bytes, None)).0,
        EeglabProblem::AllEeg
    );

    let two = struct_array(&["srate"], vec![vec![scalar(1.0)], vec![scalar(2.0)]]);
    let bytes = little().file(&[("EEG", two)], false);
    let (problem, message) = refusal(eeglab::parse(&bytes, None));
    assert!(
        matches!(problem, EeglabProblem::BadField { field: "EEG", .. }),
        "{message}"
    );
}

#[test]
fn damaged_compressed_variable_is_an_error() {
    let mut bytes = little().file(&[("EEG", eeg_struct(fields(embedded_values())))], true);
    // Flip bytes in the middle of the deflate stream.
    for byte in &mut bytes[150..170] {
        *byte ^= 0x5A;
    }
    let (problem, message) = refusal(eeglab::parse(&bytes, None));
    assert!(
        matches!(
            problem,
            EeglabProblem::BadCompression { .. } | EeglabProblem::InCompressed { .. }
        ),
        "{message}"
    );
    assert!(message.contains("byte offset 128"), "{message}");
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    let mut value = scalar(1.0);
    for _ in 0..200 {
        value = M::Cell(vec![value]);
    }
    let bytes = little().file(&[("EEG", value)], false);
    let (problem, _) = refusal(eeglab::parse(&bytes, None));
    assert_eq!(problem, EeglabProblem::TooDeep);
}

#[test]
fn huge_declared_dimensions_do_not_allocate() {
    // A chanlocs struct array of 10^18 elements and no fields takes a few bytes.
    let mut variables = fields(embedded_values());
    variables[7] = (
        "chanlocs",
        M::Struct(vec![1_000_000_000, 1_000_000_000], Vec::new(), Vec::new()),
    );
    let (problem, _) = refusal(eeglab::parse(&set_file(variables), None));
    assert!(matches!(problem, EeglabProblem::ChanlocsCount { .. }));

    // A cell array claiming 10^9 elements in a few bytes.
    let mut bytes = little().file(&[("EEG", M::Cell(vec![scalar(1.0)]))], false);
    let dims_at = 128 + 8 + 16 + 8;
    bytes[dims_at + 4..dims_at + 8].copy_from_slice(&1_000_000_000u32.to_le_bytes());
    let (problem, _) = refusal(eeglab::parse(&bytes, None));
    assert!(matches!(problem, EeglabProblem::Truncated { .. }));

    // nbchan of 10^12 with a tiny .fdt.
    let mut variables = fields(text("synthetic.fdt"));
    variables[1] = ("nbchan", scalar(1e12));
    variables.retain(|(name, _)| *name != "chanlocs");
    let (problem, _) = refusal(eeglab::parse(&set_file(variables), Some(&fdt_bytes())));
    assert!(matches!(problem, EeglabProblem::FdtSize { .. }));
}

#[test]
fn mutated_shared_dataset_never_panics() {
    let Some(path) = data_path(TEST_SET) else {
        return;
    };
    let original = std::fs::read(&path).unwrap();
    let fdt = std::fs::read(path.with_extension("fdt")).unwrap();
    let synthetic = little().file(&[("EEG", eeg_struct(fields(embedded_values())))], true);
    // A fixed linear congruential sequence: the same mutations every run.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for round in 0..400 {
        let source = if round % 2 == 0 {
            &original
        } else {
            &synthetic
        };
        let mut bytes = source.clone();
        // Mostly the first kilobytes, where the tags and small fields are.
        let span = if round % 4 < 2 {
            2048.min(bytes.len())
        } else {
            bytes.len()
        };
        for _ in 0..1 + next() % 4 {
            let index = next() % span;
            bytes[index] = (next() & 0xFF) as u8;
        }
        if let Ok(file) = eeglab::parse(&bytes, Some(&fdt)) {
            let _ = file.to_recording();
        }
    }
}

#[test]
fn read_recording_dispatches_set_files() {
    let dir = scratch_dir("eeglab_dispatch");
    let set = dir.join("embedded.set");
    std::fs::write(&set, set_file(fields(embedded_values()))).unwrap();
    let recording = neuroloop_formats::read_recording(&set).unwrap();
    assert_eq!(recording.data.len(), 3);
    assert_eq!(recording.common_sample_rate_hz(), Some(250.0));
}
