//! Error types shared by the readers and writers.
//!
//! Every error names the file it came from (or [`IN_MEMORY`] for byte slices), and every
//! problem in file contents carries the byte offset where it was found, so that a report
//! from the field can be checked with a hex dump.

use std::path::Path;

/// Name used in errors for data parsed from a byte slice rather than read from a file.
pub const IN_MEMORY: &str = "<in-memory data>";

/// Renders a path for error messages.
pub(crate) fn file_name(path: &Path) -> String {
    path.display().to_string()
}

/// The problem type of a binary file format; names the format in error messages.
pub trait FormatProblem: std::error::Error + 'static {
    /// The format's name as shown in messages, e.g. `XDF`.
    const FORMAT: &'static str;
}

impl FormatProblem for XdfProblem {
    const FORMAT: &'static str = "XDF";
}

impl FormatProblem for EdfProblem {
    const FORMAT: &'static str = "EDF/BDF";
}

impl FormatProblem for NpyProblem {
    const FORMAT: &'static str = "NPY";
}

/// Errors from reading a binary file format ([`XdfError`], [`EdfError`], [`NpyError`]): the
/// file could not be read, or its contents are invalid at a byte offset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError<P: FormatProblem> {
    /// The file could not be read.
    #[error("{file}: cannot read {} file: {source}", P::FORMAT)]
    Io {
        /// The file name.
        file: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The file contents are not valid in this format.
    #[error("{file}: {} byte offset {offset}: {problem}", P::FORMAT)]
    Malformed {
        /// The file name, or [`IN_MEMORY`].
        file: String,
        /// Byte offset of the problem from the start of the file.
        offset: u64,
        /// What is wrong.
        problem: P,
    },
}

impl<P: FormatProblem> FileError<P> {
    pub(crate) fn at(offset: u64, problem: P) -> Self {
        Self::Malformed {
            file: IN_MEMORY.to_owned(),
            offset,
            problem,
        }
    }

    pub(crate) fn in_file(self, path: &Path) -> Self {
        match self {
            Self::Malformed {
                offset, problem, ..
            } => Self::Malformed {
                file: file_name(path),
                offset,
                problem,
            },
            Self::Io { source, .. } => Self::Io {
                file: file_name(path),
                source,
            },
        }
    }

    /// The byte offset of the problem, if the error is about file contents.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::Malformed { offset, .. } => Some(*offset),
            Self::Io { .. } => None,
        }
    }

    /// The problem in the file contents, if the error is about them.
    pub fn problem(&self) -> Option<&P> {
        match self {
            Self::Malformed { problem, .. } => Some(problem),
            Self::Io { .. } => None,
        }
    }
}

/// A problem found in the contents of an XDF file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum XdfProblem {
    /// The file does not start with the `XDF:` magic bytes.
    #[error("bad magic: expected \"XDF:\", found {found:?}")]
    BadMagic {
        /// The bytes found instead (fewer than four if the file is shorter).
        found: Vec<u8>,
    },
    /// A structure runs past the end of the file or of its chunk.
    #[error("truncated {what}: needs {needed} bytes but only {available} remain")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes left in the file or chunk.
        available: u64,
    },
    /// A variable-length integer announces a byte width other than 1, 4 or 8.
    #[error("variable-length integer has byte width {width}; only 1, 4 and 8 are valid")]
    BadVarLenWidth {
        /// The width byte found.
        width: u8,
    },
    /// A chunk is too short to hold its tag (and stream id, for stream chunks).
    #[error("chunk with tag {tag} has length {length}, less than the {minimum} bytes it needs")]
    ChunkTooShort {
        /// The chunk tag (0 if the chunk is too short to hold one).
        tag: u16,
        /// The declared chunk length.
        length: u64,
        /// The minimum length for this tag.
        minimum: u64,
    },
    /// A chunk refers to a stream whose StreamHeader has not been seen.
    #[error("{chunk} chunk for stream {stream_id}, which has no StreamHeader before it")]
    UnknownStream {
        /// The chunk kind.
        chunk: &'static str,
        /// The stream id in the chunk.
        stream_id: u32,
    },
    /// Two StreamHeader chunks use the same stream id.
    #[error("second StreamHeader for stream {stream_id}")]
    DuplicateStream {
        /// The repeated stream id.
        stream_id: u32,
    },
    /// The XML of a header or footer does not parse.
    #[error("{chunk} XML does not parse: {message}")]
    BadXml {
        /// The chunk kind.
        chunk: &'static str,
        /// The XML parser's message.
        message: String,
    },
    /// A required field is missing from a StreamHeader.
    #[error("StreamHeader has no <{field}> element")]
    MissingHeaderField {
        /// The element name.
        field: &'static str,
    },
    /// A StreamHeader field has a value that cannot be used.
    #[error("StreamHeader <{field}> has unusable value {value:?}")]
    BadHeaderField {
        /// The element name.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// A Samples chunk claims more samples than its length can hold.
    #[error(
        "Samples chunk claims {count} samples but its {available} remaining bytes hold at most \
         {max_possible}"
    )]
    SampleCountTooLarge {
        /// The sample count in the chunk.
        count: u64,
        /// Remaining bytes in the chunk.
        available: u64,
        /// The largest count those bytes could hold.
        max_possible: u64,
    },
    /// A sample's timestamp width byte is neither 0 nor 8.
    #[error("sample timestamp width is {width}; only 0 (deduced) and 8 are valid")]
    BadTimestampWidth {
        /// The width byte found.
        width: u8,
    },
    /// A chunk's declared length differs from the size of its content.
    #[error("chunk length says {declared} bytes of content but the content uses {used}")]
    InconsistentChunkSize {
        /// Content bytes the chunk length leaves after the tag and stream id.
        declared: u64,
        /// Content bytes actually parsed.
        used: u64,
    },
}

/// Errors from reading XDF files.
pub type XdfError = FileError<XdfProblem>;

/// Errors from writing XDF files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XdfWriteError {
    /// Writing or syncing the file failed.
    #[error("{file}: cannot write XDF file: {source}")]
    Io {
        /// The file name.
        file: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The stream id was not returned by `add_stream` of this writer.
    #[error("{file}: stream {stream_id} was never added to this writer")]
    UnknownStream {
        /// The file name.
        file: String,
        /// The id passed in.
        stream_id: u32,
    },
    /// The values do not fit the stream's channel format or channel count.
    #[error("{file}: stream {stream_id}: {problem}")]
    BadSamples {
        /// The file name.
        file: String,
        /// The stream written to.
        stream_id: u32,
        /// What does not fit.
        problem: String,
    },
    /// The stream header cannot be written as given.
    #[error("{file}: cannot add stream {name:?}: {problem}")]
    BadHeader {
        /// The file name.
        file: String,
        /// The stream name.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

/// A problem found in the contents of an EDF, EDF+, BDF or BDF+ file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EdfProblem {
    /// The version field is neither EDF's `0` nor BDF's `0xFF BIOSEMI`.
    #[error("not an EDF or BDF file: version field is {found:?}")]
    BadVersion {
        /// The version field bytes, lossily decoded.
        found: String,
    },
    /// The file ends inside the header or inside the data records.
    #[error("truncated {what}: needs {needed} bytes but only {available} remain")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// A header field does not hold a usable value.
    #[error("header field {field}{} has unusable value {value:?}: {reason}", signal_suffix(*.signal))]
    BadField {
        /// The header field name.
        field: &'static str,
        /// The signal index for per-signal fields.
        signal: Option<usize>,
        /// The field text.
        value: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// The header size field does not match the signal count.
    #[error("header size field says {declared} bytes but {signals} signals need {expected}")]
    HeaderSizeMismatch {
        /// The header size field.
        declared: u64,
        /// Bytes implied by the signal count.
        expected: u64,
        /// The signal count.
        signals: usize,
    },
    /// The number of data records is negative (and not the "unknown" marker -1).
    #[error("number of data records is {value}; only -1 (unknown) or a count is valid")]
    NegativeRecordCount {
        /// The value found.
        value: i64,
    },
    /// The data records are larger or more numerous than the file can hold.
    #[error(
        "header promises {records} records of {record_bytes} bytes but the file holds only \
         {available} data bytes"
    )]
    DataSizeMismatch {
        /// Records announced in the header.
        records: u64,
        /// Bytes per record.
        record_bytes: u64,
        /// Data bytes after the header.
        available: u64,
    },
    /// An EDF+ annotation list (TAL) does not follow the specification.
    #[error("data record {record}, annotation signal {signal}: {message}")]
    BadAnnotation {
        /// The data record index.
        record: usize,
        /// The signal index.
        signal: usize,
        /// What is wrong.
        message: String,
    },
}

fn signal_suffix(signal: Option<usize>) -> String {
    signal.map_or_else(String::new, |index| format!(" of signal {index}"))
}

/// Errors from reading EDF, EDF+, BDF and BDF+ files.
pub type EdfError = FileError<EdfProblem>;

/// A problem found in the contents of an NPY file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NpyProblem {
    /// The file does not start with `\x93NUMPY`.
    #[error("bad magic: expected \"\\x93NUMPY\", found {found:?}")]
    BadMagic {
        /// The bytes found instead.
        found: Vec<u8>,
    },
    /// The format version is not 1.0, 2.0 or 3.0.
    #[error("unsupported NPY version {major}.{minor}")]
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The file ends inside the header or the array data.
    #[error("truncated {what}: needs {needed} bytes but only {available} remain")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// The header dictionary cannot be parsed.
    #[error("header dictionary is not understood: {message}")]
    BadHeader {
        /// What is wrong.
        message: String,
    },
    /// The element type is not float32 or float64.
    #[error("unsupported dtype {descr:?}; only float32 and float64 are read")]
    UnsupportedDtype {
        /// The `descr` string.
        descr: String,
    },
    /// The array is not one- or two-dimensional.
    #[error("unsupported shape {shape:?}; only 1-D and 2-D arrays are read")]
    UnsupportedShape {
        /// The shape found.
        shape: Vec<u64>,
    },
    /// The data size differs from what the shape and dtype imply.
    #[error("shape and dtype imply {expected} data bytes but the file holds {available}")]
    DataSizeMismatch {
        /// Bytes implied by the header.
        expected: u64,
        /// Bytes present after the header.
        available: u64,
    },
}

/// Errors from reading NPY files.
pub type NpyError = FileError<NpyProblem>;

/// A problem found in a text (CSV or DREAMS) file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TextProblem {
    /// The file has no header line or no data where some is required.
    #[error("{what} is missing")]
    Missing {
        /// What was expected.
        what: &'static str,
    },
    /// The header line does not have the expected columns.
    #[error("unexpected header {found:?}; expected {expected}")]
    BadHeader {
        /// The header line found.
        found: String,
        /// A description of the expected header.
        expected: &'static str,
    },
    /// A line has the wrong number of fields.
    #[error("expected {expected} fields, found {found}")]
    WrongFieldCount {
        /// Fields expected.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// A field is not a number (or not a finite one where that is required).
    #[error("field {column} ({value:?}) is not a valid {expected}")]
    BadNumber {
        /// The 0-based field index.
        column: usize,
        /// The field text.
        value: String,
        /// The kind of number expected.
        expected: &'static str,
    },
    /// A quoted field is not closed before the end of the line.
    #[error("quoted field is not closed")]
    UnclosedQuote,
    /// The file is not UTF-8 text.
    #[error("not UTF-8 text")]
    NotUtf8,
}

/// Errors from reading or writing text layouts (CSV, DREAMS).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// The file could not be read or written.
    #[error("{file}: cannot access file: {source}")]
    Io {
        /// The file name.
        file: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The file contents do not follow the layout.
    #[error("{file}: line {line} (byte offset {offset}): {problem}")]
    Malformed {
        /// The file name, or [`IN_MEMORY`].
        file: String,
        /// 1-based line number.
        line: usize,
        /// Byte offset of the start of the line.
        offset: u64,
        /// What is wrong.
        problem: TextProblem,
    },
}

impl TextError {
    pub(crate) fn at(line: usize, offset: u64, problem: TextProblem) -> Self {
        Self::Malformed {
            file: IN_MEMORY.to_owned(),
            line,
            offset,
            problem,
        }
    }

    pub(crate) fn in_file(self, path: &Path) -> Self {
        match self {
            Self::Malformed {
                line,
                offset,
                problem,
                ..
            } => Self::Malformed {
                file: file_name(path),
                line,
                offset,
                problem,
            },
            Self::Io { source, .. } => Self::Io {
                file: file_name(path),
                source,
            },
        }
    }
}
