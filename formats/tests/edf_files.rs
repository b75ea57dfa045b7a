//! EDF/BDF reader checks against golden numbers from pyedflib and MNE
//! (`tests/golden/generate.py`) and against the Sleep-EDF header reference.

mod common;

use common::{as_f64, as_usize, assert_close, data_path, golden};
use neuroloop_formats::edf::{self, EdfVariant};
use neuroloop_formats::{StartTime, dreams};

#[test]
fn every_edf_and_bdf_file_matches_pyedflib_and_mne() {
    let golden = golden("edf.json");
    for (relative, expected) in golden.as_object().unwrap() {
        let Some(path) = data_path(relative) else {
            continue;
        };
        let file = edf::read(&path).unwrap_or_else(|error| panic!("{error}"));
        let context = relative.as_str();
        if let Some(signals) = expected.get("pyedflib_signals") {
            check_pyedflib(&file, expected, signals, context);
        } else {
            check_mne_channels(&file, expected, context);
        }
        // Annotations: pyedflib reports every one in the file; MNE drops those outside the
        // data, so it is compared only where nothing was dropped.
        if let Some(annotations) = expected.get("pyedflib_annotations") {
            check_annotations(&file, annotations, context, true);
        }
        let mne = &expected["mne_annotations"];
        if mne.as_array().unwrap().len() == file.annotations.len() {
            check_annotations(&file, mne, context, false);
        }
        let longest = file
            .signals
            .iter()
            .map(|signal| {
                signal.sample_rate_hz
                    * file.header.record_count as f64
                    * file.header.record_duration_s
            })
            .fold(0.0, f64::max);
        if !file.signals.is_empty() && file.header.record_duration_s > 0.0 {
            assert_close(longest, as_f64(&expected["mne_n_times"]), 1e-9, context);
        }
    }
}

fn check_pyedflib(
    file: &edf::EdfFile,
    expected: &serde_json::Value,
    signals: &serde_json::Value,
    context: &str,
) {
    let labels: Vec<&str> = file.signals.iter().map(|s| s.label.as_str()).collect();
    let expected_labels: Vec<&str> = expected["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|label| label.as_str().unwrap())
        .collect();
    assert_eq!(labels, expected_labels, "{context}");
    let counts: Vec<usize> = file.signals.iter().map(|s| s.digital.len()).collect();
    let expected_counts: Vec<usize> = expected["sample_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(as_usize)
        .collect();
    assert_eq!(counts, expected_counts, "{context}");
    assert_eq!(
        file.header.record_count,
        as_usize(&expected["datarecords"]),
        "{context}"
    );
    assert_eq!(
        file.header.record_duration_s,
        as_f64(&expected["record_duration"])
    );
    let start = file.start_time.unwrap();
    let fields: [u64; 6] = [
        start.year.into(),
        start.month.into(),
        start.day.into(),
        start.hour.into(),
        start.minute.into(),
        start.second.into(),
    ];
    let expected_start: Vec<u64> = expected["pyedflib_start"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(fields.to_vec(), expected_start, "{context}");
    for wanted in signals.as_array().unwrap() {
        let index = as_usize(&wanted["index"]);
        let signal = &file.signals[index];
        let context = format!("{context} signal {index} ({})", signal.label);
        assert_eq!(signal.label, wanted["label"].as_str().unwrap(), "{context}");
        assert_close(
            signal.sample_rate_hz,
            as_f64(&wanted["sample_rate"]),
            1e-12,
            &context,
        );
        assert_eq!(
            signal.physical_dimension,
            wanted["dimension"].as_str().unwrap()
        );
        assert_eq!(
            signal.transducer,
            wanted["transducer"].as_str().unwrap(),
            "{context}"
        );
        assert_eq!(
            signal.prefiltering,
            wanted["prefilter"].as_str().unwrap(),
            "{context}"
        );
        assert_eq!(
            signal.physical_min,
            as_f64(&wanted["physical_min"]),
            "{context}"
        );
        assert_eq!(
            signal.physical_max,
            as_f64(&wanted["physical_max"]),
            "{context}"
        );
        assert_eq!(
            i64::from(signal.digital_min),
            wanted["digital_min"].as_i64().unwrap()
        );
        assert_eq!(
            i64::from(signal.digital_max),
            wanted["digital_max"].as_i64().unwrap()
        );
        // Digital values are exact.
        let digital_sum: i64 = signal.digital.iter().map(|&v| i64::from(v)).sum();
        assert_eq!(
            digital_sum,
            wanted["digital_sum"].as_i64().unwrap(),
            "{context}"
        );
        let first: Vec<i64> = signal
            .digital
            .iter()
            .take(3)
            .map(|&v| i64::from(v))
            .collect();
        let wanted_first: Vec<i64> = wanted["digital_first"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(first, wanted_first, "{context}");
        assert_eq!(
            signal.digital.last().map(|&v| i64::from(v)),
            wanted["digital_last"].as_i64(),
            "{context}"
        );
        // Physical values agree to 1e-9 relative (the two implementations group the same
        // linear map differently).
        let physical = signal.physical();
        for (ours, theirs) in physical
            .iter()
            .zip(wanted["physical_first"].as_array().unwrap())
        {
            assert_close(*ours, as_f64(theirs), 1e-9, &context);
        }
        if let Some(last) = wanted["physical_last"].as_f64() {
            assert_close(*physical.last().unwrap(), last, 1e-9, &context);
        }
        let scale =
            signal.physical_min.abs().max(signal.physical_max.abs()) * physical.len() as f64;
        let sum: f64 = physical.iter().sum();
        assert!(
            (sum - as_f64(&wanted["physical_sum"])).abs() <= 1e-9 * scale.max(1.0),
            "{context}: physical sum {sum} vs {}",
            wanted["physical_sum"]
        );
    }
}

fn check_mne_channels(file: &edf::EdfFile, expected: &serde_json::Value, context: &str) {
    let channels = expected["mne_channels"].as_array().unwrap();
    assert_eq!(file.signals.len(), channels.len(), "{context}");
    for (signal, channel) in file.signals.iter().zip(channels) {
        assert_eq!(
            signal.label,
            channel["label"].as_str().unwrap(),
            "{context}"
        );
        let Some(sum) = channel.get("physical_sum") else {
            continue;
        };
        let physical = signal.physical();
        for (ours, theirs) in physical
            .iter()
            .zip(channel["physical_first"].as_array().unwrap())
        {
            assert_close(*ours, as_f64(theirs), 1e-9, context);
        }
        let total: f64 = physical.iter().sum();
        let scale =
            signal.physical_min.abs().max(signal.physical_max.abs()) * physical.len() as f64;
        assert!(
            (total - as_f64(sum)).abs() <= 1e-9 * scale,
            "{context} {}",
            signal.label
        );
    }
}

fn check_annotations(
    file: &edf::EdfFile,
    expected: &serde_json::Value,
    context: &str,
    pyedflib: bool,
) {
    let expected = expected.as_array().unwrap();
    assert_eq!(file.annotations.len(), expected.len(), "{context}");
    let data_duration_s = file.header.record_count as f64 * file.header.record_duration_s;
    let mut ours: Vec<(f64, f64, &str)> = file
        .annotations
        .iter()
        .map(|a| {
            let duration = match a.duration_s {
                None if pyedflib => -1.0,
                None => 0.0,
                Some(duration) if pyedflib => duration,
                // MNE shortens spans that run past the end of the data.
                Some(duration) => duration.min(data_duration_s - a.onset_s),
            };
            (a.onset_s, duration, a.text.as_str())
        })
        .collect();
    let mut theirs: Vec<(f64, f64, &str)> = expected
        .iter()
        .map(|a| (as_f64(&a[0]), as_f64(&a[1]), a[2].as_str().unwrap()))
        .collect();
    let order = |a: &(f64, f64, &str), b: &(f64, f64, &str)| a.0.total_cmp(&b.0).then(a.2.cmp(b.2));
    ours.sort_by(order);
    theirs.sort_by(order);
    for (a, b) in ours.iter().zip(&theirs) {
        // pyedflib keeps onsets in units of 100 ns and MNE rounds to microseconds.
        assert!((a.0 - b.0).abs() < 1e-6, "{context}: onset {a:?} vs {b:?}");
        assert!(
            (a.1 - b.1).abs() < 1e-6,
            "{context}: duration {a:?} vs {b:?}"
        );
        assert_eq!(a.2, b.2, "{context}");
    }
}

#[test]
fn sleep_edf_header_matches_reference() {
    let Some(reference) = data_path("sleepedf_SC4001_first5min/short_psg_header_reference.json")
    else {
        return;
    };
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reference).unwrap()).unwrap();
    for name in ["short_psg.edf", "short_psg.bdf"] {
        let Some(path) = data_path(&format!("sleepedf_SC4001_first5min/{name}")) else {
            return;
        };
        let file = edf::read(&path).unwrap();
        assert_eq!(file.header.record_count, 10);
        assert_eq!(file.header.record_duration_s, 30.0);
        let signals = reference.as_array().unwrap();
        assert_eq!(file.signals.len(), signals.len());
        for (signal, expected) in file.signals.iter().zip(signals) {
            assert_eq!(signal.label, expected["label"].as_str().unwrap());
            assert_eq!(
                signal.transducer,
                expected["transducer_type"].as_str().unwrap()
            );
            assert_eq!(
                signal.physical_dimension,
                expected["physical_dimension"].as_str().unwrap()
            );
            assert_eq!(
                signal.prefiltering,
                expected["prefiltering"].as_str().unwrap()
            );
            assert_eq!(signal.reserved, expected["reserved"].as_str().unwrap());
            assert_eq!(
                signal.samples_per_record,
                as_usize(&expected["samples_per_data_record"])
            );
            assert_eq!(
                signal.sample_rate_hz,
                as_f64(&expected["sampling_frequency"])
            );
            if name.ends_with(".edf") {
                assert_eq!(signal.physical_min, as_f64(&expected["physical_min"]));
                assert_eq!(signal.physical_max, as_f64(&expected["physical_max"]));
                assert_eq!(
                    i64::from(signal.digital_min),
                    expected["digital_min"].as_i64().unwrap()
                );
                assert_eq!(
                    i64::from(signal.digital_max),
                    expected["digital_max"].as_i64().unwrap()
                );
            }
        }
        // Mixed rates: each channel keeps its own rate and length.
        let recording = file.to_recording();
        assert_eq!(recording.common_sample_rate_hz(), None);
        assert_eq!(recording.data[0].len(), 30_000);
        assert_eq!(recording.data[3].len(), 300);
        assert_eq!(recording.duration_s(), 300.0);
    }
}

#[test]
fn motor_imagery_runs_have_t0_t1_t2_cues() {
    for run in 3..=14 {
        let Some(path) = data_path(&format!("mi_eegmmidb_S001/S001R{run:02}.edf")) else {
            return;
        };
        let file = edf::read(&path).unwrap();
        assert_eq!(file.variant, EdfVariant::EdfPlusContinuous);
        assert_eq!(file.signals.len(), 64);
        assert!(file.signals.iter().all(|s| s.sample_rate_hz == 160.0));
        let recording = file.to_recording();
        assert!(recording.channel_index("C3..").is_some());
        let count = |label: &str| {
            recording
                .annotations
                .iter()
                .filter(|a| a.label == label)
                .count()
        };
        assert_eq!(count("T0"), 15, "run {run}");
        assert_eq!(count("T1") + count("T2"), 15, "run {run}");
        assert!(
            recording
                .annotations
                .windows(2)
                .all(|w| w[0].onset_s <= w[1].onset_s)
        );
    }
}

#[test]
fn subsecond_start_time_moves_into_the_start() {
    let Some(path) = data_path("formats_mne_testing_data/EDF/subsecond_starttime.edf") else {
        return;
    };
    let file = edf::read(&path).unwrap();
    // The first record's time-keeping annotation is +0.3945312 s after 04:05:56.
    assert_eq!(
        file.start_time,
        Some(StartTime {
            year: 2020,
            month: 1,
            day: 24,
            hour: 4,
            minute: 5,
            second: 56,
            nanosecond: 394_531_200,
        })
    );
    assert_eq!(file.record_onsets_s[0], 0.3945312);
    assert_close(
        file.annotations[0].onset_s,
        2.3457031 - 0.3945312,
        1e-12,
        "onset",
    );
    assert_eq!(file.annotations[0].text, "XLSpike");
    assert_eq!(file.annotations[0].duration_s, None);
}

#[test]
fn dreams_edf_matches_the_text_export() {
    let (Some(edf_path), Some(text_path)) = (
        data_path("spindles_dreams/excerpt3.edf"),
        data_path("spindles_dreams/excerpt3.txt"),
    ) else {
        return;
    };
    let file = edf::read(&edf_path).unwrap();
    let signal = file.signal("C3-A1").unwrap();
    assert_eq!(signal.sample_rate_hz, 50.0);
    let text = dreams::read_signal(&text_path).unwrap();
    assert_eq!(text.channel, "C3-A1");
    let physical = signal.physical();
    assert_eq!(physical.len(), text.values.len());
    // The text export keeps four decimals.
    let worst = physical
        .iter()
        .zip(&text.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 0.5e-4 + 1e-9, "largest difference {worst}");
}

#[test]
fn annotation_only_hypnogram_has_every_stage() {
    let Some(path) = data_path("sleepedf_SC4001_first5min/SC4001EC-Hypnogram.edf") else {
        return;
    };
    let file = edf::read(&path).unwrap();
    assert!(file.signals.is_empty());
    assert_eq!(file.header.record_duration_s, 0.0);
    assert_eq!(file.annotations.len(), 154);
    assert_eq!(file.annotations[0].text, "Sleep stage W");
    assert_eq!(file.annotations[0].duration_s, Some(30630.0));
}
