//! Regression tests for damaged input, built from small synthetic byte vectors. Each test is
//! named after what it guards; every error must name the byte offset and the problem, and no
//! input may panic or allocate more than its size justifies.

use neuroloop_formats::edf::{self, EdfVariant};
use neuroloop_formats::xdf::{self, ReadOptions, XdfValues};
use neuroloop_formats::{EdfProblem, NpyProblem, XdfProblem, npy};

// ---------------------------------------------------------------------------------------------
// XDF builders

fn varlen(value: u64) -> Vec<u8> {
    if let Ok(byte) = u8::try_from(value) {
        vec![1, byte]
    } else if let Ok(word) = u32::try_from(value) {
        let mut out = vec![4];
        out.extend_from_slice(&word.to_le_bytes());
        out
    } else {
        let mut out = vec![8];
        out.extend_from_slice(&value.to_le_bytes());
        out
    }
}

fn chunk(tag: u16, content: &[u8]) -> Vec<u8> {
    let mut out = varlen(2 + content.len() as u64);
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(content);
    out
}

fn stream_chunk(tag: u16, id: u32, content: &[u8]) -> Vec<u8> {
    let mut body = id.to_le_bytes().to_vec();
    body.extend_from_slice(content);
    chunk(tag, &body)
}

fn header_xml(format: &str, channels: u32, rate: f64) -> String {
    format!(
        "<?xml version=\"1.0\"?><info><name>test</name><type>EEG</type>\
         <channel_count>{channels}</channel_count><nominal_srate>{rate}</nominal_srate>\
         <channel_format>{format}</channel_format></info>"
    )
}

/// Magic, FileHeader and one StreamHeader (id 1).
fn xdf_prefix(format: &str, channels: u32, rate: f64) -> Vec<u8> {
    let mut out = b"XDF:".to_vec();
    out.extend(chunk(
        1,
        b"<?xml version=\"1.0\"?><info><version>1.0</version></info>",
    ));
    out.extend(stream_chunk(
        2,
        1,
        header_xml(format, channels, rate).as_bytes(),
    ));
    out
}

/// Samples chunk content for int16 samples, each with a time stamp.
fn int16_samples(samples: &[(f64, &[i16])]) -> Vec<u8> {
    let mut out = varlen(samples.len() as u64);
    for (timestamp, values) in samples {
        out.push(8);
        out.extend_from_slice(&timestamp.to_le_bytes());
        for value in *values {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out
}

fn xdf_problem(bytes: &[u8]) -> (u64, XdfProblem) {
    let error = xdf::parse(bytes).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("byte offset"), "{message}");
    (error.offset().unwrap(), error.problem().unwrap().clone())
}

#[test]
fn xdf_with_bad_magic_is_rejected() {
    let (offset, problem) = xdf_problem(b"XDX:\x01\x02");
    assert_eq!(offset, 0);
    assert_eq!(
        problem,
        XdfProblem::BadMagic {
            found: b"XDX:".to_vec()
        }
    );
    let (_, problem) = xdf_problem(b"");
    assert_eq!(problem, XdfProblem::BadMagic { found: Vec::new() });
}

#[test]
fn xdf_with_only_magic_has_no_streams() {
    let file = xdf::parse(b"XDF:").unwrap();
    assert!(file.streams.is_empty());
    assert!(file.header_xml.is_none());
}

#[test]
fn truncated_xdf_chunk_reports_offset() {
    let mut bytes = xdf_prefix("int16", 1, 10.0);
    let chunk_start = bytes.len() as u64;
    let samples = stream_chunk(3, 1, &int16_samples(&[(1.0, &[5]), (1.1, &[6])]));
    bytes.extend_from_slice(&samples[..samples.len() - 3]);
    let (offset, problem) = xdf_problem(&bytes);
    assert_eq!(offset, chunk_start);
    assert_eq!(
        problem,
        XdfProblem::Truncated {
            what: "chunk",
            needed: (samples.len() - 2) as u64,
            available: (samples.len() - 5) as u64
        }
    );
}

#[test]
fn xdf_chunk_length_beyond_file_does_not_allocate() {
    let mut bytes = xdf_prefix("int16", 1, 10.0);
    let chunk_start = bytes.len() as u64;
    bytes.extend(varlen(1 << 62));
    bytes.extend_from_slice(&3u16.to_le_bytes());
    let (offset, problem) = xdf_problem(&bytes);
    assert_eq!(offset, chunk_start);
    assert!(matches!(problem, XdfProblem::Truncated { needed, .. } if needed == 1 << 62));
}

#[test]
fn xdf_sample_count_beyond_chunk_is_rejected() {
    let mut bytes = xdf_prefix("double64", 64, 10.0);
    let count_offset = bytes.len() as u64 + 2 + 2 + 4;
    let mut content = varlen(u64::from(u32::MAX));
    content.extend_from_slice(&[0; 20]);
    bytes.extend(stream_chunk(3, 1, &content));
    let (offset, problem) = xdf_problem(&bytes);
    assert_eq!(offset, count_offset);
    assert!(
        matches!(problem, XdfProblem::SampleCountTooLarge { count, .. } if count == u64::from(u32::MAX))
    );
}

#[test]
fn xdf_string_length_beyond_chunk_reports_offset() {
    let mut bytes = xdf_prefix("string", 1, 0.0);
    let mut content = varlen(1);
    content.push(0);
    content.extend(varlen(1_000_000));
    content.extend_from_slice(b"abc");
    bytes.extend(stream_chunk(3, 1, &content));
    let (_, problem) = xdf_problem(&bytes);
    assert!(matches!(
        problem,
        XdfProblem::Truncated {
            what: "string value",
            needed: 1_000_000,
            available: 3
        }
    ));
}

#[test]
fn xdf_samples_before_stream_header_are_rejected() {
    let mut bytes = b"XDF:".to_vec();
    bytes.extend(stream_chunk(3, 7, &int16_samples(&[(1.0, &[1])])));
    let (offset, problem) = xdf_problem(&bytes);
    assert_eq!(offset, 4);
    assert_eq!(
        problem,
        XdfProblem::UnknownStream {
            chunk: "Samples",
            stream_id: 7
        }
    );
}

#[test]
fn xdf_bad_varlen_width_is_rejected() {
    let mut bytes = xdf_prefix("int16", 1, 10.0);
    let offset_expected = bytes.len() as u64;
    bytes.extend_from_slice(&[3, 0, 0, 0]);
    let (offset, problem) = xdf_problem(&bytes);
    assert_eq!(offset, offset_expected);
    assert_eq!(problem, XdfProblem::BadVarLenWidth { width: 3 });
}

#[test]
fn xdf_bad_timestamp_width_is_rejected() {
    let mut bytes = xdf_prefix("int16", 1, 10.0);
    let mut content = varlen(1);
    content.push(4);
    content.extend_from_slice(&[0; 6]);
    let width_offset = bytes.len() as u64 + 2 + 2 + 4 + 2;
    bytes.extend(stream_chunk(3, 1, &content));
    let (offset, problem) = xdf_problem(&bytes);
    assert_eq!(offset, width_offset);
    assert_eq!(problem, XdfProblem::BadTimestampWidth { width: 4 });
}

#[test]
fn xdf_chunk_with_trailing_bytes_is_rejected() {
    let mut bytes = xdf_prefix("int16", 1, 10.0);
    let mut content = int16_samples(&[(1.0, &[1])]);
    content.extend_from_slice(&[9, 9]);
    bytes.extend(stream_chunk(3, 1, &content));
    let (_, problem) = xdf_problem(&bytes);
    assert_eq!(
        problem,
        XdfProblem::InconsistentChunkSize {
            declared: 15,
            used: 13
        }
    );
}

#[test]
fn xdf_chunk_too_short_for_stream_id_is_rejected() {
    let mut bytes = xdf_prefix("int16", 1, 10.0);
    bytes.extend(chunk(3, &[1, 0]));
    let (_, problem) = xdf_problem(&bytes);
    assert_eq!(
        problem,
        XdfProblem::ChunkTooShort {
            tag: 3,
            length: 4,
            minimum: 6
        }
    );
    let mut bytes = b"XDF:".to_vec();
    bytes.extend_from_slice(&[1, 1, 0]);
    let (offset, problem) = xdf_problem(&bytes);
    assert_eq!(offset, 4);
    assert_eq!(
        problem,
        XdfProblem::ChunkTooShort {
            tag: 0,
            length: 1,
            minimum: 2
        }
    );
}

#[test]
fn xdf_stream_header_without_channel_format_is_rejected() {
    let mut bytes = b"XDF:".to_vec();
    bytes.extend(stream_chunk(
        2,
        1,
        b"<info><channel_count>2</channel_count></info>",
    ));
    let (offset, problem) = xdf_problem(&bytes);
    assert_eq!(offset, 4 + 2 + 2 + 4);
    assert_eq!(
        problem,
        XdfProblem::MissingHeaderField {
            field: "channel_format"
        }
    );
}

#[test]
fn xdf_unknown_channel_format_is_rejected() {
    let mut bytes = b"XDF:".to_vec();
    bytes.extend(stream_chunk(2, 1, header_xml("float16", 1, 1.0).as_bytes()));
    let (_, problem) = xdf_problem(&bytes);
    assert_eq!(
        problem,
        XdfProblem::BadHeaderField {
            field: "channel_format",
            value: "float16".to_owned()
        }
    );
}

#[test]
fn xdf_negative_rate_is_rejected() {
    let mut bytes = b"XDF:".to_vec();
    bytes.extend(stream_chunk(2, 1, header_xml("int8", 1, -5.0).as_bytes()));
    let (_, problem) = xdf_problem(&bytes);
    assert!(matches!(
        problem,
        XdfProblem::BadHeaderField {
            field: "nominal_srate",
            ..
        }
    ));
}

#[test]
fn xdf_malformed_header_xml_is_rejected() {
    let mut bytes = b"XDF:".to_vec();
    bytes.extend(stream_chunk(2, 1, b"<info><name>x</info>"));
    let (_, problem) = xdf_problem(&bytes);
    assert!(matches!(
        problem,
        XdfProblem::BadXml {
            chunk: "StreamHeader",
            ..
        }
    ));
}

#[test]
fn xdf_duplicate_stream_header_is_rejected() {
    let mut bytes = xdf_prefix("int16", 1, 10.0);
    bytes.extend(stream_chunk(2, 1, header_xml("int16", 1, 10.0).as_bytes()));
    let (_, problem) = xdf_problem(&bytes);
    assert_eq!(problem, XdfProblem::DuplicateStream { stream_id: 1 });
}

#[test]
fn xdf_clock_offset_of_wrong_length_is_rejected() {
    let mut bytes = xdf_prefix("int16", 1, 10.0);
    bytes.extend(stream_chunk(4, 1, &[0; 8]));
    let (_, problem) = xdf_problem(&bytes);
    assert_eq!(
        problem,
        XdfProblem::InconsistentChunkSize {
            declared: 8,
            used: 16
        }
    );
}

#[test]
fn xdf_unknown_chunk_tags_are_skipped() {
    let mut bytes = xdf_prefix("int16", 1, 10.0);
    bytes.extend(chunk(77, b"future extension"));
    bytes.extend(stream_chunk(3, 1, &int16_samples(&[(1.0, &[3])])));
    let file = xdf::parse(&bytes).unwrap();
    assert_eq!(file.unknown_chunk_count, 1);
    assert_eq!(file.streams[0].values, XdfValues::Int16(vec![3]));
}

#[test]
fn xdf_deduced_timestamps_follow_nominal_rate() {
    let mut bytes = xdf_prefix("int8", 1, 4.0);
    let mut content = varlen(3);
    content.push(8);
    content.extend_from_slice(&10.0f64.to_le_bytes());
    content.push(1);
    content.extend_from_slice(&[0, 2, 0, 3]);
    bytes.extend(stream_chunk(3, 1, &content));
    // The next chunk continues from the last time stamp of the previous one.
    bytes.extend(stream_chunk(3, 1, &[1, 1, 0, 4]));
    let file = xdf::parse_with(&bytes, &ReadOptions::raw()).unwrap();
    assert_eq!(file.streams[0].timestamps_s, vec![10.0, 10.25, 10.5, 10.75]);
    assert_eq!(file.streams[0].values, XdfValues::Int8(vec![1, 2, 3, 4]));
}

#[test]
fn xdf_error_names_the_file() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("formats-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad_magic.xdf");
    std::fs::write(&path, b"NOPE").unwrap();
    let message = xdf::read(&path).unwrap_err().to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("byte offset 0: bad magic"), "{message}");
    let missing = xdf::read(dir.join("does_not_exist.xdf"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("does_not_exist.xdf"), "{missing}");
}

// ---------------------------------------------------------------------------------------------
// EDF builders

struct Signal<'a> {
    label: &'a str,
    samples_per_record: &'a str,
    digital_min: &'a str,
    digital_max: &'a str,
}

const EEG: Signal<'static> = Signal {
    label: "EEG Fz",
    samples_per_record: "4",
    digital_min: "-32768",
    digital_max: "32767",
};

const ANNOTATIONS: Signal<'static> = Signal {
    label: "EDF Annotations",
    samples_per_record: "30",
    digital_min: "-32768",
    digital_max: "32767",
};

fn field(out: &mut Vec<u8>, text: &str, width: usize) {
    let mut bytes = text.as_bytes().to_vec();
    bytes.resize(width, b' ');
    out.extend_from_slice(&bytes);
}

/// Renders one per-signal header field.
type FieldValue = fn(&Signal<'_>) -> String;

fn edf_header(
    version: &[u8],
    reserved: &str,
    records: &str,
    duration: &str,
    signals: &[Signal<'_>],
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(version);
    field(&mut out, "X X X X", 80);
    field(&mut out, "Startdate 02-MAR-2021 X X X", 80);
    field(&mut out, "02.03.21", 8);
    field(&mut out, "10.11.12", 8);
    field(&mut out, &(256 * (signals.len() + 1)).to_string(), 8);
    field(&mut out, reserved, 44);
    field(&mut out, records, 8);
    field(&mut out, duration, 8);
    field(&mut out, &signals.len().to_string(), 4);
    let per_signal: [(usize, FieldValue); 10] = [
        (16, |s| s.label.to_owned()),
        (80, |_| "AgAgCl".to_owned()),
        (8, |_| "uV".to_owned()),
        (8, |_| "-100".to_owned()),
        (8, |_| "100".to_owned()),
        (8, |s| s.digital_min.to_owned()),
        (8, |s| s.digital_max.to_owned()),
        (80, |_| "HP:0.1Hz".to_owned()),
        (8, |s| s.samples_per_record.to_owned()),
        (32, |_| String::new()),
    ];
    for (width, value) in per_signal {
        for signal in signals {
            field(&mut out, &value(signal), width);
        }
    }
    out
}

fn tal_block(text: &[u8], samples: usize) -> Vec<u8> {
    let mut block = text.to_vec();
    block.resize(samples * 2, 0);
    block
}

/// An EDF+ file with one 4-sample EEG signal and an annotation signal, with the given TAL
/// bytes per record.
fn edf_plus(reserved: &str, tals: &[&[u8]]) -> Vec<u8> {
    let mut bytes = edf_header(
        b"0       ",
        reserved,
        &tals.len().to_string(),
        "1",
        &[EEG, ANNOTATIONS],
    );
    for (record, tal) in tals.iter().enumerate() {
        for sample in 0..4i16 {
            bytes.extend_from_slice(&(record as i16 * 10 + sample).to_le_bytes());
        }
        bytes.extend(tal_block(tal, 30));
    }
    bytes
}

fn edf_problem(bytes: &[u8]) -> (u64, EdfProblem) {
    let error = edf::parse(bytes).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("byte offset"), "{message}");
    (error.offset().unwrap(), error.problem().unwrap().clone())
}

#[test]
fn valid_synthetic_edf_plus_parses() {
    let bytes = edf_plus(
        "EDF+C",
        &[
            b"+0\x14\x14\x00+0.5\x150.25\x14Stim\x14\x00",
            b"+1\x14\x14\x00",
        ],
    );
    let file = edf::parse(&bytes).unwrap();
    assert_eq!(file.variant, EdfVariant::EdfPlusContinuous);
    assert_eq!(file.signals.len(), 1);
    assert_eq!(file.signals[0].digital, vec![0, 1, 2, 3, 10, 11, 12, 13]);
    assert_eq!(file.signals[0].sample_rate_hz, 4.0);
    assert_eq!(file.annotations.len(), 1);
    assert_eq!(file.annotations[0].onset_s, 0.5);
    assert_eq!(file.annotations[0].duration_s, Some(0.25));
    assert_eq!(file.record_onsets_s, vec![0.0, 1.0]);
    let start = file.start_time.unwrap();
    assert_eq!(
        (start.year, start.month, start.day, start.hour),
        (2021, 3, 2, 10)
    );
}

#[test]
fn edf_plus_discontinuous_record_onsets_are_parsed() {
    let bytes = edf_plus(
        "EDF+D",
        &[
            b"+0\x14\x14\x00",
            b"+10\x14\x14\x00",
            b"+25.5\x14\x14Restart\x14\x00",
        ],
    );
    let file = edf::parse(&bytes).unwrap();
    assert_eq!(file.variant, EdfVariant::EdfPlusDiscontinuous);
    assert!(file.variant.is_discontinuous());
    assert_eq!(file.record_onsets_s, vec![0.0, 10.0, 25.5]);
    assert_eq!(file.annotations[0].text, "Restart");
    assert_eq!(file.annotations[0].onset_s, 25.5);
    assert_eq!(file.annotations[0].record, 2);
}

#[test]
fn edf_utf8_annotation_text_is_decoded() {
    let bytes = edf_plus(
        "EDF+C",
        &["+0\x14\x14\x00+1\x14仰卧\x14Grüße\x14\x00".as_bytes()],
    );
    let file = edf::parse(&bytes).unwrap();
    let texts: Vec<&str> = file.annotations.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(texts, ["仰卧", "Grüße"]);
}

#[test]
fn edf_annotation_with_bad_onset_reports_record() {
    let bytes = edf_plus(
        "EDF+C",
        &[b"+0\x14\x14\x00", b"+1\x14\x14\x00abc\x14x\x14\x00"],
    );
    let record_1_tal = 256 * 3 + (8 + 60) + 8;
    let (offset, problem) = edf_problem(&bytes);
    assert_eq!(offset, (record_1_tal + 5) as u64);
    assert!(
        matches!(&problem, EdfProblem::BadAnnotation { record: 1, signal: 1, message } if message.contains("\"abc\"")),
        "{problem:?}"
    );
}

#[test]
fn edf_with_negative_record_count_is_rejected() {
    let bytes = edf_header(b"0       ", "", "-2", "1", &[EEG]);
    let (offset, problem) = edf_problem(&bytes);
    assert_eq!(offset, 236);
    assert_eq!(problem, EdfProblem::NegativeRecordCount { value: -2 });
}

#[test]
fn edf_with_unknown_record_count_uses_complete_records() {
    let mut bytes = edf_header(b"0       ", "", "-1", "1", &[EEG]);
    bytes.extend_from_slice(&[1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0]);
    let file = edf::parse(&bytes).unwrap();
    assert_eq!(file.header.record_count, 2);
    assert_eq!(file.signals[0].digital, vec![1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn edf_with_bad_version_is_rejected() {
    let mut bytes = edf_header(b"1       ", "", "0", "1", &[EEG]);
    let (offset, problem) = edf_problem(&bytes);
    assert_eq!(offset, 0);
    assert!(matches!(problem, EdfProblem::BadVersion { .. }));
    bytes.truncate(100);
    let (_, problem) = edf_problem(&bytes);
    assert!(matches!(
        problem,
        EdfProblem::Truncated {
            what: "fixed header",
            needed: 256,
            available: 100
        }
    ));
}

#[test]
fn edf_header_size_mismatch_is_rejected() {
    let mut bytes = edf_header(b"0       ", "", "0", "1", &[EEG]);
    bytes[184..192].copy_from_slice(b"768     ");
    let (offset, problem) = edf_problem(&bytes);
    assert_eq!(offset, 184);
    assert_eq!(
        problem,
        EdfProblem::HeaderSizeMismatch {
            declared: 768,
            expected: 512,
            signals: 1
        }
    );
}

#[test]
fn edf_truncated_data_records_are_rejected() {
    let mut bytes = edf_header(b"0       ", "", "3", "1", &[EEG]);
    bytes.extend_from_slice(&[0; 20]);
    let (offset, problem) = edf_problem(&bytes);
    assert_eq!(offset, 512);
    assert_eq!(
        problem,
        EdfProblem::DataSizeMismatch {
            records: 3,
            record_bytes: 8,
            available: 20
        }
    );
}

#[test]
fn edf_with_huge_signal_count_does_not_allocate() {
    let mut bytes = edf_header(b"0       ", "", "1", "1", &[EEG]);
    bytes[252..256].copy_from_slice(b"9999");
    let (offset, problem) = edf_problem(&bytes);
    assert_eq!(offset, 252);
    assert!(matches!(
        problem,
        EdfProblem::Truncated {
            what: "signal headers",
            ..
        }
    ));
}

#[test]
fn edf_with_huge_samples_per_record_does_not_allocate() {
    let huge = Signal {
        samples_per_record: "99999999",
        ..EEG
    };
    let bytes = edf_header(b"0       ", "", "99999999", "1", &[huge]);
    let (_, problem) = edf_problem(&bytes);
    assert!(matches!(
        problem,
        EdfProblem::DataSizeMismatch {
            records: 99_999_999,
            ..
        }
    ));
}

#[test]
fn edf_with_non_numeric_field_names_field_and_signal() {
    let bad = Signal {
        digital_max: "lots",
        ..EEG
    };
    let bytes = edf_header(b"0       ", "", "0", "1", &[EEG, bad]);
    let (offset, problem) = edf_problem(&bytes);
    assert_eq!(offset, (256 + 128 * 2 + 8) as u64);
    assert_eq!(
        problem,
        EdfProblem::BadField {
            field: "digital maximum",
            signal: Some(1),
            value: "lots".to_owned(),
            reason: "not a number"
        }
    );
    assert!(problem.to_string().contains("digital maximum of signal 1"));
}

#[test]
fn edf_with_empty_digital_range_is_rejected() {
    let flat = Signal {
        digital_min: "5",
        digital_max: "5",
        ..EEG
    };
    let bytes = edf_header(b"0       ", "", "0", "1", &[flat]);
    let (_, problem) = edf_problem(&bytes);
    assert!(matches!(
        problem,
        EdfProblem::BadField {
            field: "digital minimum/maximum",
            signal: Some(0),
            ..
        }
    ));
}

#[test]
fn edf_with_negative_record_duration_is_rejected() {
    let bytes = edf_header(b"0       ", "", "0", "-1", &[EEG]);
    let (offset, problem) = edf_problem(&bytes);
    assert_eq!(offset, 244);
    assert!(matches!(
        problem,
        EdfProblem::BadField {
            field: "data record duration",
            ..
        }
    ));
}

#[test]
fn bdf_samples_are_24_bit() {
    let signal = Signal {
        digital_min: "-8388608",
        digital_max: "8388607",
        samples_per_record: "2",
        ..EEG
    };
    let mut bytes = edf_header(b"\xffBIOSEMI", "24BIT", "1", "1", &[signal]);
    bytes.extend_from_slice(&[0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80]);
    let file = edf::parse(&bytes).unwrap();
    assert_eq!(file.variant, EdfVariant::Bdf);
    assert_eq!(file.signals[0].digital, vec![8_388_607, -8_388_608]);
    let physical = file.signals[0].physical();
    assert!((physical[0] - 100.0).abs() < 1e-9 && (physical[1] + 100.0).abs() < 1e-9);
}

// ---------------------------------------------------------------------------------------------
// NPY

fn npy_bytes(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY".to_vec();
    out.push(major);
    out.push(0);
    if major == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f64_bytes(values: &[f64], big_endian: bool) -> Vec<u8> {
    values
        .iter()
        .flat_map(|v| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        })
        .collect()
}

#[test]
fn npy_fortran_order_is_returned_row_major() {
    // The 2×3 matrix [[1, 2, 3], [4, 5, 6]] stored column by column.
    let data = f64_bytes(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0], false);
    for major in [1, 2, 3] {
        let bytes = npy_bytes(
            major,
            "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }\n",
            &data,
        );
        let array = npy::parse(&bytes).unwrap();
        assert_eq!(array.version, (major, 0));
        assert_eq!(array.get(0, 2), Some(3.0));
        assert_eq!(array.get(1, 0), Some(4.0));
        assert_eq!(array.column(1), Some(vec![2.0, 5.0]));
    }
    let data = f64_bytes(&[1.0, 2.0, 3.0], true);
    let bytes = npy_bytes(
        1,
        "{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }",
        &data,
    );
    let array = npy::parse(&bytes).unwrap();
    assert_eq!(array.column(0), Some(vec![1.0, 2.0, 3.0]));
}

#[test]
fn npy_with_bad_magic_is_rejected() {
    let error = npy::parse(b"\x93NUMPZ\x01\x00").unwrap_err();
    assert!(error.to_string().contains("byte offset 0: bad magic"));
}

#[test]
fn npy_shape_larger_than_data_is_rejected() {
    let bytes = npy_bytes(
        1,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4000000000, 8), }",
        &[0; 16],
    );
    let error = npy::parse(&bytes).unwrap_err();
    let NpyProblem::DataSizeMismatch {
        expected,
        available,
    } = problem_of(&error)
    else {
        panic!("{error}");
    };
    assert_eq!((expected, available), (128_000_000_000, 16));
}

#[test]
fn npy_unsupported_dtype_is_rejected() {
    let bytes = npy_bytes(
        1,
        "{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }",
        &[0; 2],
    );
    let error = npy::parse(&bytes).unwrap_err();
    assert_eq!(
        problem_of(&error),
        NpyProblem::UnsupportedDtype {
            descr: "<i2".to_owned()
        }
    );
}

#[test]
fn npy_header_length_beyond_file_is_rejected() {
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    let error = npy::parse(&bytes).unwrap_err();
    assert!(matches!(
        problem_of(&error),
        NpyProblem::Truncated { what: "header", .. }
    ));
}

fn problem_of(error: &neuroloop_formats::NpyError) -> NpyProblem {
    match error {
        neuroloop_formats::NpyError::Malformed { problem, .. } => problem.clone(),
        other => panic!("{other}"),
    }
}
