//! EDF, EDF+, BDF and BDF+ reader.
//!
//! The reader keeps every header field, the exact digital sample values of each signal (each
//! at its own rate) and the EDF+ annotations. Physical values are derived with the linear map
//! the header defines, `physical = (digital − digital_min) · (physical_max − physical_min) /
//! (digital_max − digital_min) + physical_min`.
//!
//! Annotation onsets are given relative to the first sample: EDF+ stores them relative to the
//! header's start time (whole seconds), and the first data record's time-keeping annotation
//! says how far after that time the first sample was taken (the sub-second part of the start
//! time). That offset is subtracted from every onset and added to [`EdfFile::start_time`].

use std::path::Path;

use crate::error::{EdfError, EdfProblem, file_name};
use crate::recording::{Annotation, ChannelInfo, Recording, StartTime};

/// Size of the fixed part of the header and of each signal's header, in bytes.
const BLOCK_BYTES: usize = 256;

/// Which flavour of the format a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdfVariant {
    /// Plain EDF (16-bit samples, no annotation signal).
    Edf,
    /// EDF+ with contiguous data records (`EDF+C`).
    EdfPlusContinuous,
    /// EDF+ with data records that may have gaps between them (`EDF+D`).
    EdfPlusDiscontinuous,
    /// BioSemi BDF (24-bit samples).
    Bdf,
    /// BDF+ with contiguous data records (`BDF+C`).
    BdfPlusContinuous,
    /// BDF+ with data records that may have gaps between them (`BDF+D`).
    BdfPlusDiscontinuous,
}

impl EdfVariant {
    /// True for the 24-bit BDF family.
    pub fn is_bdf(self) -> bool {
        matches!(
            self,
            Self::Bdf | Self::BdfPlusContinuous | Self::BdfPlusDiscontinuous
        )
    }

    /// True for EDF+ and BDF+ files, which may carry annotations.
    pub fn is_plus(self) -> bool {
        !matches!(self, Self::Edf | Self::Bdf)
    }

    /// True when data records may be discontiguous in time.
    pub fn is_discontinuous(self) -> bool {
        matches!(
            self,
            Self::EdfPlusDiscontinuous | Self::BdfPlusDiscontinuous
        )
    }

    /// Bytes per sample: 2 for EDF, 3 for BDF.
    pub fn bytes_per_sample(self) -> usize {
        if self.is_bdf() { 3 } else { 2 }
    }
}

/// The fixed part of the header (everything that is not per signal).
#[derive(Debug, Clone, PartialEq)]
pub struct EdfHeader {
    /// Local patient identification field (trailing blanks removed).
    pub patient: String,
    /// Local recording identification field (trailing blanks removed).
    pub recording: String,
    /// The start date field as written, `dd.mm.yy`.
    pub start_date_text: String,
    /// The start time field as written, `hh.mm.ss`.
    pub start_time_text: String,
    /// Header size in bytes, as declared (and checked against the signal count).
    pub header_bytes: usize,
    /// The reserved field (`EDF+C`, `EDF+D`, `BDF+C`, `24BIT`, ...).
    pub reserved: String,
    /// Number of data records read. A header value of -1 (recording not closed) is replaced
    /// by the number of complete records in the file.
    pub record_count: usize,
    /// Duration of one data record in seconds (0 for annotation-only files).
    pub record_duration_s: f64,
    /// Number of signals, annotation signals included.
    pub signal_count: usize,
}

/// One ordinary (non-annotation) signal.
#[derive(Debug, Clone, PartialEq)]
pub struct EdfSignal {
    /// Position of this signal in the file header.
    pub index: usize,
    /// Label (trailing blanks removed).
    pub label: String,
    /// Transducer type.
    pub transducer: String,
    /// Physical dimension (unit), e.g. `uV`.
    pub physical_dimension: String,
    /// Physical value of `digital_min`.
    pub physical_min: f64,
    /// Physical value of `digital_max`.
    pub physical_max: f64,
    /// Smallest digital value.
    pub digital_min: i32,
    /// Largest digital value.
    pub digital_max: i32,
    /// Prefiltering description.
    pub prefiltering: String,
    /// Samples in each data record.
    pub samples_per_record: usize,
    /// Per-signal reserved field.
    pub reserved: String,
    /// Sampling rate in Hz (`samples_per_record / record_duration_s`; 0 if the duration is 0).
    pub sample_rate_hz: f64,
    /// Digital sample values of all records, in order.
    pub digital: Vec<i32>,
}

impl EdfSignal {
    /// Physical units per digital step.
    pub fn gain(&self) -> f64 {
        (self.physical_max - self.physical_min)
            / (f64::from(self.digital_max) - f64::from(self.digital_min))
    }

    /// Physical value of a digital value.
    pub fn to_physical(&self, digital: i32) -> f64 {
        (f64::from(digital) - f64::from(self.digital_min)) * self.gain() + self.physical_min
    }

    /// All samples in physical units.
    pub fn physical(&self) -> Vec<f64> {
        let gain = self.gain();
        let digital_min = f64::from(self.digital_min);
        self.digital
            .iter()
            .map(|&value| (f64::from(value) - digital_min) * gain + self.physical_min)
            .collect()
    }
}

/// One EDF+ annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct EdfAnnotation {
    /// Onset in seconds after the first sample.
    pub onset_s: f64,
    /// Duration in seconds, when the annotation gives one.
    pub duration_s: Option<f64>,
    /// Annotation text (UTF-8; invalid bytes replaced).
    pub text: String,
    /// Data record the annotation was stored in.
    pub record: usize,
}

/// A parsed EDF/EDF+/BDF/BDF+ file.
#[derive(Debug, Clone, PartialEq)]
pub struct EdfFile {
    /// Format flavour.
    pub variant: EdfVariant,
    /// Fixed header fields.
    pub header: EdfHeader,
    /// Ordinary signals in header order (annotation signals are not included).
    pub signals: Vec<EdfSignal>,
    /// Header indices of the `EDF Annotations` / `BDF Annotations` signals.
    pub annotation_signal_indices: Vec<usize>,
    /// Annotations from all annotation signals, sorted by onset (stable).
    pub annotations: Vec<EdfAnnotation>,
    /// Onset of every data record in seconds after the header's start time: from the
    /// time-keeping annotations in EDF+/BDF+, otherwise `index × record_duration_s`.
    pub record_onsets_s: Vec<f64>,
    /// Start of the first sample: the header date and time plus the sub-second offset of the
    /// first data record. `None` when the date or time fields cannot be read.
    pub start_time: Option<StartTime>,
}

impl EdfFile {
    /// The first ordinary signal whose label matches (ignoring case and surrounding blanks).
    pub fn signal(&self, label: &str) -> Option<&EdfSignal> {
        let wanted = label.trim();
        self.signals
            .iter()
            .find(|signal| signal.label.trim().eq_ignore_ascii_case(wanted))
    }

    /// Converts into the common [`Recording`] (physical values; each channel keeps its own
    /// rate). Records of discontinuous files are concatenated without their gaps;
    /// [`EdfFile::record_onsets_s`] keeps the real timing.
    pub fn to_recording(&self) -> Recording {
        Recording {
            channels: self
                .signals
                .iter()
                .map(|signal| {
                    ChannelInfo::new(
                        signal.label.clone(),
                        signal.physical_dimension.clone(),
                        signal.sample_rate_hz,
                    )
                })
                .collect(),
            data: self.signals.iter().map(EdfSignal::physical).collect(),
            timestamps_s: None,
            annotations: self
                .annotations
                .iter()
                .map(|annotation| Annotation {
                    onset_s: annotation.onset_s,
                    duration_s: annotation.duration_s.unwrap_or(0.0),
                    label: annotation.text.clone(),
                })
                .collect(),
            start_time: self.start_time,
            line_freq_hz: None,
        }
    }
}

/// Parses EDF/BDF bytes.
pub fn parse(bytes: &[u8]) -> Result<EdfFile, EdfError> {
    Parser { bytes }.parse()
}

/// Reads and parses an EDF/BDF file.
pub fn read(path: impl AsRef<Path>) -> Result<EdfFile, EdfError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| EdfError::Io {
        file: file_name(path),
        source,
    })?;
    parse(&bytes).map_err(|error| error.in_file(path))
}

struct Parser<'a> {
    bytes: &'a [u8],
}

/// Per-signal header fields before they are checked.
struct RawSignal {
    label: String,
    transducer: String,
    physical_dimension: String,
    physical_min: f64,
    physical_max: f64,
    digital_min: i32,
    digital_max: i32,
    prefiltering: String,
    samples_per_record: usize,
    reserved: String,
    is_annotation: bool,
}

impl Parser<'_> {
    fn truncated(&self, what: &'static str, offset: usize, needed: usize) -> EdfError {
        EdfError::at(
            offset as u64,
            EdfProblem::Truncated {
                what,
                needed: needed as u64,
                available: self.bytes.len().saturating_sub(offset) as u64,
            },
        )
    }

    /// A header text field with trailing blanks and NULs removed.
    fn text(&self, offset: usize, length: usize, what: &'static str) -> Result<String, EdfError> {
        let Some(raw) = self.bytes.get(offset..offset + length) else {
            return Err(self.truncated(what, offset, length));
        };
        let text = String::from_utf8_lossy(raw);
        Ok(text.trim_end_matches([' ', '\0']).to_owned())
    }

    fn number<T: std::str::FromStr>(
        &self,
        offset: usize,
        length: usize,
        field: &'static str,
        signal: Option<usize>,
    ) -> Result<T, EdfError> {
        let text = self.text(offset, length, field)?;
        text.trim().parse::<T>().map_err(|_| {
            EdfError::at(
                offset as u64,
                EdfProblem::BadField {
                    field,
                    signal,
                    value: text.clone(),
                    reason: "not a number",
                },
            )
        })
    }

    fn parse(&self) -> Result<EdfFile, EdfError> {
        let fixed = self.fixed_header()?;
        let signal_count = self.checked_signal_count(fixed.signal_count)?;
        let header_bytes = self.check_fixed_header(&fixed, signal_count)?;
        let raw_signals = self.signal_headers(signal_count, fixed.variant)?;
        let layout = RecordLayout {
            header_bytes,
            bytes_per_sample: fixed.variant.bytes_per_sample(),
            record_bytes: self.record_bytes(&raw_signals, fixed.variant, header_bytes)?,
        };
        let record_count = self.record_count(fixed.record_count, &layout)?;
        let (mut signals, annotation_signal_indices) =
            empty_signals(&raw_signals, fixed.record_duration_s, record_count);
        let tals = self.read_records(&raw_signals, &mut signals, &layout, record_count)?;

        let plus = !annotation_signal_indices.is_empty();
        let record_onsets_s = record_onsets(
            &tals.record_onsets_s,
            record_count,
            fixed.record_duration_s,
            plus,
        );
        let first_onset_s = record_onsets_s.first().copied().unwrap_or(0.0);
        let annotations = relative_to_first_sample(tals.annotations, first_onset_s);
        let start_time = parse_start_time(
            &fixed.start_date_text,
            &fixed.start_time_text,
            &fixed.recording,
        )
        .map(|time| add_subsecond(time, first_onset_s));
        Ok(EdfFile {
            variant: fixed.variant,
            header: EdfHeader {
                patient: fixed.patient,
                recording: fixed.recording,
                start_date_text: fixed.start_date_text,
                start_time_text: fixed.start_time_text,
                header_bytes,
                reserved: fixed.reserved,
                record_count,
                record_duration_s: fixed.record_duration_s,
                signal_count,
            },
            signals,
            annotation_signal_indices,
            annotations,
            record_onsets_s,
            start_time,
        })
    }

    /// Reads the fixed 256-byte header. Only the version and the numeric fields can fail
    /// here; how the fields fit together is checked by [`Parser::check_fixed_header`].
    fn fixed_header(&self) -> Result<FixedHeader, EdfError> {
        if self.bytes.len() < BLOCK_BYTES {
            return Err(self.truncated("fixed header", 0, BLOCK_BYTES));
        }
        let is_bdf = self.is_bdf_version()?;
        let patient = self.text(8, 80, "patient field")?;
        let recording = self.text(88, 80, "recording field")?;
        let start_date_text = self.text(168, 8, "start date")?;
        let start_time_text = self.text(176, 8, "start time")?;
        let header_bytes: i64 = self.number(184, 8, "header size", None)?;
        let reserved = self.text(192, 44, "reserved field")?;
        let record_count: i64 = self.number(236, 8, "number of data records", None)?;
        let record_duration_s: f64 = self.number(244, 8, "data record duration", None)?;
        let signal_count: i64 = self.number(252, 4, "number of signals", None)?;

        let variant = match (is_bdf, reserved.get(..5)) {
            (false, Some("EDF+C")) => EdfVariant::EdfPlusContinuous,
            (false, Some("EDF+D")) => EdfVariant::EdfPlusDiscontinuous,
            (false, _) => EdfVariant::Edf,
            (true, Some("BDF+C")) => EdfVariant::BdfPlusContinuous,
            (true, Some("BDF+D")) => EdfVariant::BdfPlusDiscontinuous,
            (true, _) => EdfVariant::Bdf,
        };
        Ok(FixedHeader {
            variant,
            patient,
            recording,
            start_date_text,
            start_time_text,
            header_bytes,
            reserved,
            record_count,
            record_duration_s,
            signal_count,
        })
    }

    /// Tells BDF (`0xFF BIOSEMI`) from EDF (`0` and blanks) by the version field.
    fn is_bdf_version(&self) -> Result<bool, EdfError> {
        let version = self.bytes.get(..8).unwrap_or_default();
        match version {
            [0xFF, rest @ ..] if rest == b"BIOSEMI" => Ok(true),
            [b'0', rest @ ..] if rest.iter().all(|&byte| byte == b' ') => Ok(false),
            _ => Err(EdfError::at(
                0,
                EdfProblem::BadVersion {
                    found: String::from_utf8_lossy(version).into_owned(),
                },
            )),
        }
    }

    /// The declared signal count, once it is known to fit in the file.
    fn checked_signal_count(&self, signal_count: i64) -> Result<usize, EdfError> {
        // Each signal needs 256 header bytes, so the file size bounds the signal count before
        // anything is allocated for signals.
        let max_signals = (self.bytes.len() - BLOCK_BYTES) / BLOCK_BYTES;
        match usize::try_from(signal_count) {
            Ok(count) if count <= max_signals => Ok(count),
            Ok(_) => Err(EdfError::at(
                252,
                EdfProblem::Truncated {
                    what: "signal headers",
                    needed: u64::try_from(signal_count).unwrap_or(0).saturating_mul(256),
                    available: (self.bytes.len() - BLOCK_BYTES) as u64,
                },
            )),
            Err(_) => Err(EdfError::at(
                252,
                EdfProblem::BadField {
                    field: "number of signals",
                    signal: None,
                    value: signal_count.to_string(),
                    reason: "negative",
                },
            )),
        }
    }

    /// Checks the header size, record duration and record count of the fixed header and
    /// returns the header size in bytes.
    fn check_fixed_header(
        &self,
        fixed: &FixedHeader,
        signal_count: usize,
    ) -> Result<usize, EdfError> {
        let expected_header = BLOCK_BYTES * (signal_count + 1);
        if u64::try_from(fixed.header_bytes).ok() != Some(expected_header as u64) {
            return Err(EdfError::at(
                184,
                EdfProblem::HeaderSizeMismatch {
                    declared: u64::try_from(fixed.header_bytes).unwrap_or(0),
                    expected: expected_header as u64,
                    signals: signal_count,
                },
            ));
        }
        let record_duration_s = fixed.record_duration_s;
        if !(record_duration_s.is_finite() && record_duration_s >= 0.0) {
            return Err(EdfError::at(
                244,
                EdfProblem::BadField {
                    field: "data record duration",
                    signal: None,
                    value: record_duration_s.to_string(),
                    reason: "must be a finite non-negative number",
                },
            ));
        }
        if fixed.record_count < -1 {
            return Err(EdfError::at(
                236,
                EdfProblem::NegativeRecordCount {
                    value: fixed.record_count,
                },
            ));
        }
        Ok(expected_header)
    }

    /// Bytes in one data record: every signal's samples, annotation signals included.
    fn record_bytes(
        &self,
        raw_signals: &[RawSignal],
        variant: EdfVariant,
        header_bytes: usize,
    ) -> Result<usize, EdfError> {
        let bytes_per_sample = variant.bytes_per_sample();
        let mut record_bytes: usize = 0;
        for signal in raw_signals {
            record_bytes = signal
                .samples_per_record
                .checked_mul(bytes_per_sample)
                .and_then(|bytes| record_bytes.checked_add(bytes))
                .ok_or_else(|| {
                    EdfError::at(
                        184,
                        EdfProblem::DataSizeMismatch {
                            records: 0,
                            record_bytes: u64::MAX,
                            available: (self.bytes.len() - header_bytes) as u64,
                        },
                    )
                })?;
        }
        Ok(record_bytes)
    }

    /// The number of data records to read: the declared count once the data is known to hold
    /// it, or every complete record of a recording that was never closed.
    fn record_count(&self, declared: i64, layout: &RecordLayout) -> Result<usize, EdfError> {
        let available = self.bytes.len() - layout.header_bytes;
        if declared == -1 {
            // -1 marks a recording that was never closed; every complete record is used.
            return Ok(available.checked_div(layout.record_bytes).unwrap_or(0));
        }
        let count = usize::try_from(declared).unwrap_or(usize::MAX);
        if count
            .checked_mul(layout.record_bytes)
            .is_none_or(|total| total > available)
        {
            return Err(EdfError::at(
                layout.header_bytes as u64,
                EdfProblem::DataSizeMismatch {
                    records: count as u64,
                    record_bytes: layout.record_bytes as u64,
                    available: available as u64,
                },
            ));
        }
        Ok(count)
    }

    /// Decodes every data record: samples are appended to the ordinary signals (in header
    /// order) and annotation signals go through the TAL parser.
    fn read_records(
        &self,
        raw_signals: &[RawSignal],
        signals: &mut [EdfSignal],
        layout: &RecordLayout,
        record_count: usize,
    ) -> Result<TalCollector, EdfError> {
        let mut tals = TalCollector::default();
        let mut offset = layout.header_bytes;
        for record in 0..record_count {
            let mut ordinary = signals.iter_mut();
            let mut first_annotation_signal = true;
            for (index, raw) in raw_signals.iter().enumerate() {
                let length = raw.samples_per_record * layout.bytes_per_sample;
                let Some(block) = self.bytes.get(offset..offset + length) else {
                    return Err(self.truncated("data record", offset, length));
                };
                if raw.is_annotation {
                    tals.parse_block(block, record, index, offset, first_annotation_signal)?;
                    first_annotation_signal = false;
                } else if let Some(signal) = ordinary.next() {
                    decode_samples(block, layout.bytes_per_sample, &mut signal.digital);
                }
                offset += length;
            }
            if !tals.has_onset_for(record) {
                tals.record_onsets_s.push(None);
            }
        }
        Ok(tals)
    }

    fn signal_headers(
        &self,
        count: usize,
        variant: EdfVariant,
    ) -> Result<Vec<RawSignal>, EdfError> {
        // Per-signal fields are stored field by field: all labels, then all transducers, ...
        let field_offset =
            |start: usize, width: usize, index: usize| BLOCK_BYTES + start * count + width * index;
        let annotation_label = if variant.is_bdf() {
            "BDF Annotations"
        } else {
            "EDF Annotations"
        };
        let mut signals = Vec::with_capacity(count);
        for index in 0..count {
            let signal = Some(index);
            let label = self.text(field_offset(0, 16, index), 16, "signal label")?;
            let transducer = self.text(field_offset(16, 80, index), 80, "transducer")?;
            let physical_dimension =
                self.text(field_offset(96, 8, index), 8, "physical dimension")?;
            let physical_min: f64 =
                self.number(field_offset(104, 8, index), 8, "physical minimum", signal)?;
            let physical_max: f64 =
                self.number(field_offset(112, 8, index), 8, "physical maximum", signal)?;
            let digital_min: i32 =
                self.number(field_offset(120, 8, index), 8, "digital minimum", signal)?;
            let digital_max: i32 =
                self.number(field_offset(128, 8, index), 8, "digital maximum", signal)?;
            let prefiltering = self.text(field_offset(136, 80, index), 80, "prefiltering")?;
            let samples_offset = field_offset(216, 8, index);
            let samples_per_record: i64 =
                self.number(samples_offset, 8, "samples per data record", signal)?;
            let reserved = self.text(field_offset(224, 32, index), 32, "signal reserved field")?;
            let Ok(samples_per_record) = usize::try_from(samples_per_record) else {
                return Err(EdfError::at(
                    samples_offset as u64,
                    EdfProblem::BadField {
                        field: "samples per data record",
                        signal,
                        value: samples_per_record.to_string(),
                        reason: "negative",
                    },
                ));
            };
            // The label alone decides: some writers put annotation signals into files whose reserved
            // field does not say EDF+.
            let is_annotation = label.trim() == annotation_label;
            if !is_annotation {
                if !(physical_min.is_finite() && physical_max.is_finite()) {
                    return Err(EdfError::at(
                        field_offset(104, 8, index) as u64,
                        EdfProblem::BadField {
                            field: "physical minimum/maximum",
                            signal,
                            value: format!("{physical_min}/{physical_max}"),
                            reason: "must be finite",
                        },
                    ));
                }
                if digital_max <= digital_min {
                    return Err(EdfError::at(
                        field_offset(120, 8, index) as u64,
                        EdfProblem::BadField {
                            field: "digital minimum/maximum",
                            signal,
                            value: format!("{digital_min}/{digital_max}"),
                            reason: "digital maximum must exceed digital minimum",
                        },
                    ));
                }
            }
            signals.push(RawSignal {
                label,
                transducer,
                physical_dimension,
                physical_min,
                physical_max,
                digital_min,
                digital_max,
                prefiltering,
                samples_per_record,
                reserved,
                is_annotation,
            });
        }
        Ok(signals)
    }
}

/// The fixed header's fields as read, before they are checked against each other and the
/// file size.
struct FixedHeader {
    variant: EdfVariant,
    patient: String,
    recording: String,
    start_date_text: String,
    start_time_text: String,
    /// Declared header size, checked against the signal count.
    header_bytes: i64,
    reserved: String,
    /// Declared record count; -1 for a recording that was never closed.
    record_count: i64,
    record_duration_s: f64,
    /// Declared signal count, checked against the file size.
    signal_count: i64,
}

/// Where the data records are and how they are packed.
struct RecordLayout {
    /// Header size in bytes: the data records start here.
    header_bytes: usize,
    /// 2 for EDF, 3 for BDF.
    bytes_per_sample: usize,
    /// Bytes in one data record.
    record_bytes: usize,
}

/// The ordinary signals with their sample buffers reserved, and the header indices of the
/// annotation signals.
fn empty_signals(
    raw_signals: &[RawSignal],
    record_duration_s: f64,
    record_count: usize,
) -> (Vec<EdfSignal>, Vec<usize>) {
    let mut signals = Vec::new();
    let mut annotation_signal_indices = Vec::new();
    for (index, raw) in raw_signals.iter().enumerate() {
        if raw.is_annotation {
            annotation_signal_indices.push(index);
            continue;
        }
        let sample_rate_hz = if record_duration_s > 0.0 {
            raw.samples_per_record as f64 / record_duration_s
        } else {
            0.0
        };
        signals.push(EdfSignal {
            index,
            label: raw.label.clone(),
            transducer: raw.transducer.clone(),
            physical_dimension: raw.physical_dimension.clone(),
            physical_min: raw.physical_min,
            physical_max: raw.physical_max,
            digital_min: raw.digital_min,
            digital_max: raw.digital_max,
            prefiltering: raw.prefiltering.clone(),
            samples_per_record: raw.samples_per_record,
            reserved: raw.reserved.clone(),
            sample_rate_hz,
            // Bounded by the file size, checked by `Parser::record_count`.
            digital: Vec::with_capacity(raw.samples_per_record * record_count),
        });
    }
    (signals, annotation_signal_indices)
}

/// Onset of every record after the header's start time: the time-keeping annotation's onset
/// in EDF+/BDF+ files that have one, otherwise `index × record_duration_s`.
fn record_onsets(
    kept_onsets_s: &[Option<f64>],
    record_count: usize,
    record_duration_s: f64,
    plus: bool,
) -> Vec<f64> {
    (0..record_count)
        .map(|record| {
            let nominal = record as f64 * record_duration_s;
            if plus {
                kept_onsets_s
                    .get(record)
                    .copied()
                    .flatten()
                    .unwrap_or(nominal)
            } else {
                nominal
            }
        })
        .collect()
}

/// Moves annotation onsets from the header's start time to the first sample and sorts them
/// by onset (stable, so annotations at the same time keep their file order).
fn relative_to_first_sample(
    annotations: Vec<EdfAnnotation>,
    first_onset_s: f64,
) -> Vec<EdfAnnotation> {
    let mut annotations: Vec<EdfAnnotation> = annotations
        .into_iter()
        .map(|mut annotation| {
            annotation.onset_s -= first_onset_s;
            annotation
        })
        .collect();
    annotations.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    annotations
}

fn decode_samples(block: &[u8], bytes_per_sample: usize, out: &mut Vec<i32>) {
    if bytes_per_sample == 3 {
        out.extend(block.chunks_exact(3).map(|raw| {
            // Place the three bytes in the top of an i32 and shift back to sign-extend.
            i32::from_le_bytes([0, raw[0], raw[1], raw[2]]) >> 8
        }));
    } else {
        out.extend(
            block
                .chunks_exact(2)
                .map(|raw| i32::from(i16::from_le_bytes([raw[0], raw[1]]))),
        );
    }
}

/// Gathers annotations and record onsets from the annotation signals of all records.
#[derive(Default)]
struct TalCollector {
    annotations: Vec<EdfAnnotation>,
    /// Time-keeping onset per record, relative to the header start time.
    record_onsets_s: Vec<Option<f64>>,
}

impl TalCollector {
    fn has_onset_for(&self, record: usize) -> bool {
        self.record_onsets_s.len() > record
    }

    /// Parses the time-stamped annotation lists (TALs) in one annotation signal of one record.
    /// Each TAL is `±onset[\x15duration]\x14text\x14text…\x14\x00`; the rest of the block is
    /// zero padding. The first TAL of the first annotation signal in each record keeps time:
    /// its onset is the record's onset and its first text is empty.
    fn parse_block(
        &mut self,
        block: &[u8],
        record: usize,
        signal: usize,
        block_offset: usize,
        first_annotation_signal: bool,
    ) -> Result<(), EdfError> {
        let mut first_tal = first_annotation_signal;
        let mut position = 0;
        for tal in block.split(|&byte| byte == 0) {
            let tal_offset = block_offset + position;
            position += tal.len() + 1;
            if tal.is_empty() {
                continue;
            }
            let bad = |message: String| {
                EdfError::at(
                    tal_offset as u64,
                    EdfProblem::BadAnnotation {
                        record,
                        signal,
                        message,
                    },
                )
            };
            let mut parts = tal.split(|&byte| byte == 0x14);
            let timing = parts.next().unwrap_or_default();
            let mut timing_parts = timing.split(|&byte| byte == 0x15);
            let onset_text = timing_parts.next().unwrap_or_default();
            let duration_text = timing_parts.next();
            if timing_parts.next().is_some() {
                return Err(bad("more than one duration".to_owned()));
            }
            let onset_s = parse_onset(onset_text).ok_or_else(|| {
                bad(format!(
                    "onset {:?} is not a signed number",
                    String::from_utf8_lossy(onset_text)
                ))
            })?;
            let duration_s = match duration_text {
                None => None,
                Some(text) => Some(parse_duration(text).ok_or_else(|| {
                    bad(format!(
                        "duration {:?} is not a non-negative number",
                        String::from_utf8_lossy(text)
                    ))
                })?),
            };
            let texts: Vec<&[u8]> = parts.collect();
            if first_tal {
                first_tal = false;
                if self.record_onsets_s.len() <= record {
                    self.record_onsets_s.resize(record, None);
                    self.record_onsets_s.push(Some(onset_s));
                }
            }
            for text in texts {
                if text.is_empty() {
                    continue;
                }
                self.annotations.push(EdfAnnotation {
                    onset_s,
                    duration_s,
                    text: String::from_utf8_lossy(text).into_owned(),
                    record,
                });
            }
        }
        Ok(())
    }
}

fn ascii_number(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    let valid = !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || byte == b'.')
        && text.bytes().filter(|&byte| byte == b'.').count() <= 1;
    if !valid {
        return None;
    }
    text.parse::<f64>().ok().filter(|value| value.is_finite())
}

fn parse_onset(text: &[u8]) -> Option<f64> {
    match text.split_first()? {
        (b'+', rest) => ascii_number(rest),
        (b'-', rest) => ascii_number(rest).map(|value| -value),
        _ => None,
    }
}

fn parse_duration(text: &[u8]) -> Option<f64> {
    ascii_number(text)
}

/// Reads `dd.mm.yy` and `hh.mm.ss`. Years 85-99 are 1985-1999 and 00-84 are 2000-2084, as
/// the specification says; an EDF+ recording field `Startdate dd-MMM-yyyy` gives the full
/// year when present.
fn parse_start_time(date: &str, time: &str, recording: &str) -> Option<StartTime> {
    let fields = |text: &str| -> Option<[u32; 3]> {
        let mut parts = text.trim().split(['.', ':']);
        let mut out = [0u32; 3];
        for slot in &mut out {
            let part = parts.next()?;
            if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        parts.next().is_none().then_some(out)
    };
    let [day, month, short_year] = fields(date)?;
    let [hour, minute, second] = fields(time)?;
    if !(1..=31).contains(&day)
        || !(1..=12).contains(&month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut year = if short_year >= 85 {
        1900 + short_year
    } else {
        2000 + short_year
    };
    if let Some(rest) = recording.strip_prefix("Startdate ") {
        let full_year = rest
            .split(' ')
            .next()
            .and_then(|date| date.rsplit('-').next())
            .filter(|year| year.len() == 4)
            .and_then(|year| year.parse::<u32>().ok());
        if let Some(full_year) = full_year.filter(|full| full % 100 == short_year) {
            year = full_year;
        }
    }
    Some(StartTime {
        year: u16::try_from(year).ok()?,
        month: u8::try_from(month).ok()?,
        day: u8::try_from(day).ok()?,
        hour: u8::try_from(hour).ok()?,
        minute: u8::try_from(minute).ok()?,
        second: u8::try_from(second).ok()?,
        nanosecond: 0,
    })
}

/// Adds the sub-second part of the first record's onset. Offsets outside 0 ≤ x < 1 s are not
/// a sub-second start and leave the header time unchanged.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn add_subsecond(mut time: StartTime, offset_s: f64) -> StartTime {
    if (0.0..1.0).contains(&offset_s) {
        // The range check above bounds the value to 0 ≤ x < 1e9.
        time.nanosecond = (offset_s * 1e9).round().min(999_999_999.0) as u32;
    }
    time
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onsets_need_a_sign() {
        assert_eq!(parse_onset(b"+1.5"), Some(1.5));
        assert_eq!(parse_onset(b"-2"), Some(-2.0));
        assert_eq!(parse_onset(b"3"), None);
        assert_eq!(parse_onset(b"+1e3"), None);
        assert_eq!(parse_onset(b"+"), None);
    }

    #[test]
    fn bdf_samples_are_sign_extended() {
        let mut out = Vec::new();
        decode_samples(&[0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x80], 3, &mut out);
        assert_eq!(out, vec![-1, -8_388_607]);
    }

    #[test]
    fn two_digit_years_follow_the_clipping_rule() {
        let time = parse_start_time("24.04.89", "16.13.00", "").unwrap();
        assert_eq!((time.year, time.month, time.day), (1989, 4, 24));
        let time = parse_start_time("01.01.00", "00.00.00", "").unwrap();
        assert_eq!(time.year, 2000);
        let time = parse_start_time("01.01.90", "00.00.00", "Startdate 01-JAN-2090 X").unwrap();
        assert_eq!(time.year, 2090);
    }
}
