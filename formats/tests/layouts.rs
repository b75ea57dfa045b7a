//! Readers for the data-set layouts (NPY + events CSV, DREAMS text, Muse CSV, annotation CSV),
//! checked against golden numbers from numpy (`tests/golden/generate.py`).

mod common;

use common::{as_f64, as_usize, assert_close, data_path, golden};
use neuroloop_formats::{Annotation, annotation_csv, dreams, muse, npy, sample_events};

#[test]
fn ssvep_npy_arrays_match_numpy() {
    let golden = golden("layouts.json");
    let arrays = golden["npy"].as_object().unwrap();
    assert!(!arrays.is_empty());
    for (relative, expected) in arrays {
        let Some(path) = data_path(relative) else {
            return;
        };
        let array = npy::read(&path).unwrap();
        let shape: Vec<usize> = expected["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(as_usize)
            .collect();
        assert_eq!(array.shape, shape, "{relative}");
        assert_eq!(
            array.fortran_order,
            expected["fortran_order"].as_bool().unwrap()
        );
        assert_eq!(array.descr, "<f4");
        let last = array.rows() - 1;
        for column in 0..array.columns() {
            assert_eq!(
                array.get(0, column),
                Some(as_f64(&expected["first_row"][column]))
            );
            assert_eq!(
                array.get(last, column),
                Some(as_f64(&expected["last_row"][column]))
            );
            let sum: f64 = array.column(column).unwrap().iter().sum();
            assert_close(
                sum,
                as_f64(&expected["column_sums"][column]),
                1e-9,
                relative,
            );
        }
        let recording = array.to_recording(
            sample_events::SSVEP_EXO_SAMPLE_RATE_HZ,
            &sample_events::SSVEP_EXO_CHANNELS,
            "",
        );
        assert_eq!(recording.channels[0].label, "Oz");
        assert_eq!(recording.data[7].len(), array.rows());
    }
}

#[test]
fn ssvep_event_tables_match_numpy() {
    let golden = golden("layouts.json");
    for (relative, expected) in golden["events"].as_object().unwrap() {
        let Some(path) = data_path(relative) else {
            return;
        };
        let events = sample_events::read(&path).unwrap();
        assert_eq!(events.len(), as_usize(&expected["count"]), "{relative}");
        let first = events.first().unwrap();
        let last = events.last().unwrap();
        assert_eq!(first.sample_index, expected["first"][0].as_u64().unwrap());
        assert_eq!(first.code, expected["first"][1].as_i64().unwrap());
        assert_eq!(last.code, expected["last"][1].as_i64().unwrap());
        let code_sum: i64 = events.iter().map(|event| event.code).sum();
        assert_eq!(code_sum, expected["code_sum"].as_i64().unwrap());
        let annotations = sample_events::to_annotations(&events, 256.0);
        assert_eq!(annotations[0].onset_s, first.sample_index as f64 / 256.0);
    }
}

#[test]
fn dreams_text_files_match_numpy() {
    let golden = golden("layouts.json");
    for (relative, expected) in golden["dreams"].as_object().unwrap() {
        let Some(path) = data_path(relative) else {
            return;
        };
        let name = path.file_name().unwrap().to_str().unwrap();
        let title = expected["title"].as_str().unwrap();
        let rows = as_usize(&expected["rows"]);
        if name.starts_with("excerpt") {
            let signal = dreams::read_signal(&path).unwrap();
            assert_eq!(format!("[{}]", signal.channel), title);
            assert_eq!(signal.values.len(), rows, "{relative}");
            assert_eq!(signal.values[0], as_f64(&expected["first_row"][0]));
            let sum: f64 = signal.values.iter().sum();
            assert_close(sum, as_f64(&expected["column_sums"][0]), 1e-9, relative);
            let number: u32 = name
                .trim_start_matches("excerpt")
                .trim_end_matches(".txt")
                .parse()
                .unwrap();
            let rate = dreams::excerpt_sample_rate_hz(number).unwrap();
            // Every excerpt is 30 minutes long.
            assert_eq!(signal.to_recording(rate).duration_s(), 1800.0, "{relative}");
        } else if name.starts_with("Hypnogram") {
            let hypnogram = dreams::read_hypnogram(&path).unwrap();
            assert_eq!(format!("[{}]", hypnogram.title), title);
            assert_eq!(hypnogram.stages.len(), rows);
            let sum: i64 = hypnogram.stages.iter().map(|&s| i64::from(s)).sum();
            assert_eq!(sum as f64, as_f64(&expected["column_sums"][0]));
            let spans = hypnogram.to_annotations();
            let total: f64 = spans.iter().map(|span| span.duration_s).sum();
            assert_eq!(total, 1800.0);
        } else {
            let scoring = dreams::read_scoring(&path).unwrap();
            assert_eq!(format!("[{}]", scoring.title), title);
            assert_eq!(scoring.annotations.len(), rows, "{relative}");
            let first = &scoring.annotations[0];
            assert_eq!(first.onset_s, as_f64(&expected["first_row"][0]));
            assert_eq!(first.duration_s, as_f64(&expected["first_row"][1]));
            let onsets: f64 = scoring.annotations.iter().map(|a| a.onset_s).sum();
            assert_close(onsets, as_f64(&expected["column_sums"][0]), 1e-12, relative);
        }
    }
}

#[test]
fn dreams_spindle_counts_match_the_database_description() {
    // Counts from the database description: scorer 1 for excerpts 1-4 and 7, scorer 2 for 1-4.
    let expected = [
        (1, 1, 52),
        (1, 2, 60),
        (1, 3, 5),
        (1, 4, 44),
        (1, 7, 18),
        (2, 1, 115),
        (2, 2, 52),
        (2, 3, 44),
        (2, 4, 25),
    ];
    for (scorer, excerpt, count) in expected {
        let relative = format!("spindles_dreams/Visual_scoring{scorer}_excerpt{excerpt}.txt");
        let Some(path) = data_path(&relative) else {
            return;
        };
        let scoring = dreams::read_scoring(&path).unwrap();
        assert_eq!(scoring.annotations.len(), count, "{relative}");
        assert_eq!(
            scoring.annotations[0].label,
            format!("vis{scorer}_Spindles")
        );
    }
}

#[test]
fn muse_csv_files_match_numpy() {
    let golden = golden("layouts.json");
    for (relative, expected) in golden["muse"].as_object().unwrap() {
        let Some(path) = data_path(relative) else {
            return;
        };
        let csv = muse::read(&path).unwrap();
        assert_eq!(
            csv.channel_labels,
            ["TP9", "AF7", "AF8", "TP10", "Right AUX"]
        );
        assert_eq!(
            csv.timestamps_s.len(),
            as_usize(&expected["rows"]),
            "{relative}"
        );
        assert_eq!(csv.timestamps_s[0], as_f64(&expected["first_timestamp"]));
        assert_eq!(
            *csv.timestamps_s.last().unwrap(),
            as_f64(&expected["last_timestamp"])
        );
        let sums = &expected["column_sums"];
        for (label, data) in csv.channel_labels.iter().zip(&csv.data) {
            // numpy's header parsing replaces the blank in "Right AUX" with an underscore.
            let key = label.replace(' ', "_");
            let sum: f64 = data.iter().sum();
            assert_close(sum, as_f64(&sums[&key]), 1e-9, relative);
        }
        let recording = csv.to_recording(muse::MUSE_SAMPLE_RATE_HZ);
        assert_eq!(
            recording.annotations.len(),
            as_usize(&expected["nonzero_markers"])
        );
        assert!(
            recording
                .annotations
                .iter()
                .all(|a| a.label == "1" || a.label == "2")
        );
    }
}

#[test]
fn annotation_csv_round_trips_awkward_labels() {
    let annotations = vec![
        Annotation {
            onset_s: 0.0,
            duration_s: 0.0,
            label: "start".to_owned(),
        },
        Annotation {
            onset_s: 1.25,
            duration_s: 4.1,
            label: "left, then \"right\"".to_owned(),
        },
        Annotation {
            onset_s: 2.0 / 3.0,
            duration_s: 1e-9,
            label: " padded ".to_owned(),
        },
        Annotation {
            onset_s: 7.0,
            duration_s: 0.5,
            label: "Grüße ✓".to_owned(),
        },
        Annotation {
            onset_s: 8.0,
            duration_s: 0.5,
            label: String::new(),
        },
    ];
    let dir = common::scratch_dir("annotation_csv");
    let path = dir.join("events.csv");
    annotation_csv::write(&path, &annotations).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("onset_s,duration_s,label\n0,0,start\n"));
    assert_eq!(annotation_csv::read(&path).unwrap(), annotations);
}

#[test]
fn annotation_csv_errors_name_line_and_offset() {
    let error = annotation_csv::parse(b"onset_s,duration_s,label\n1,2,ok\nx,2,bad\n").unwrap_err();
    let message = error.to_string();
    assert!(message.contains("line 3 (byte offset 32)"), "{message}");
    assert!(message.contains("field 0 (\"x\")"), "{message}");
    let error = annotation_csv::parse(b"time,label\n").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("expected onset_s,duration_s,label")
    );
    let error = annotation_csv::parse(b"onset_s,duration_s,label\n1,-2,x\n").unwrap_err();
    assert!(error.to_string().contains("non-negative duration"));
}
