//! NPY (NumPy array file) reader for 1-D and 2-D float32/float64 arrays.
//!
//! Versions 1.0, 2.0 and 3.0 of the header, either byte order, and C or Fortran element order
//! are accepted. Values are returned in C (row-major) order whatever the file used, so for the
//! common `(samples, channels)` layout `get(sample, channel)` is what one expects.

use std::path::Path;

use crate::error::{NpyError, NpyProblem, file_name};
use crate::recording::{ChannelInfo, Recording};

/// Element values in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyValues {
    /// `float32` elements.
    Float32(Vec<f32>),
    /// `float64` elements.
    Float64(Vec<f64>),
}

/// A parsed NPY array.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Array shape; a 1-D array has one entry.
    pub shape: Vec<usize>,
    /// Whether the file stored elements in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The `descr` field, e.g. `<f4`.
    pub descr: String,
    /// Format version `(major, minor)`.
    pub version: (u8, u8),
    /// Elements in C order.
    pub values: NpyValues,
}

impl NpyArray {
    /// Number of rows (the first dimension).
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// Number of columns (the second dimension; 1 for a 1-D array).
    pub fn columns(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1)
    }

    /// Element at `row`, `column` as `f64`.
    pub fn get(&self, row: usize, column: usize) -> Option<f64> {
        if column >= self.columns() {
            return None;
        }
        let index = row.checked_mul(self.columns())?.checked_add(column)?;
        match &self.values {
            NpyValues::Float32(values) => values.get(index).map(|&v| f64::from(v)),
            NpyValues::Float64(values) => values.get(index).copied(),
        }
    }

    /// One column as `f64`.
    pub fn column(&self, column: usize) -> Option<Vec<f64>> {
        if column >= self.columns() {
            return None;
        }
        (0..self.rows()).map(|row| self.get(row, column)).collect()
    }

    /// Treats rows as samples and columns as channels. `labels` names the channels (missing
    /// labels become `ch<N>`); all channels get `sample_rate_hz` and unit `unit`.
    pub fn to_recording(&self, sample_rate_hz: f64, labels: &[&str], unit: &str) -> Recording {
        let columns = self.columns();
        Recording {
            channels: (0..columns)
                .map(|index| {
                    let label = labels
                        .get(index)
                        .map_or_else(|| format!("ch{index}"), |label| (*label).to_owned());
                    ChannelInfo::new(label, unit, sample_rate_hz)
                })
                .collect(),
            data: (0..columns)
                .map(|column| self.column(column).unwrap_or_default())
                .collect(),
            timestamps_s: None,
            annotations: Vec::new(),
            start_time: None,
            line_freq_hz: None,
        }
    }
}

/// Parses NPY bytes.
pub fn parse(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    let magic = bytes.get(..6).unwrap_or(bytes);
    if magic != b"\x93NUMPY" {
        return Err(NpyError::at(
            0,
            NpyProblem::BadMagic {
                found: magic.to_vec(),
            },
        ));
    }
    let (Some(&major), Some(&minor)) = (bytes.get(6), bytes.get(7)) else {
        return Err(truncated(bytes, "version", 6, 2));
    };
    let (header_length, header_start) = header_location(bytes, major, minor)?;
    let Some(header_bytes) = bytes
        .get(header_start..)
        .and_then(|rest| rest.get(..header_length))
    else {
        return Err(truncated(bytes, "header", header_start, header_length));
    };
    let bad_header =
        |message: String| NpyError::at(header_start as u64, NpyProblem::BadHeader { message });
    let header = parse_header(&header_text(header_bytes, major)).map_err(bad_header)?;
    let Some(element) = ElementType::of(&header.descr) else {
        return Err(NpyError::at(
            header_start as u64,
            NpyProblem::UnsupportedDtype {
                descr: header.descr,
            },
        ));
    };
    if header.shape.is_empty() || header.shape.len() > 2 {
        return Err(NpyError::at(
            header_start as u64,
            NpyProblem::UnsupportedShape {
                shape: header.shape,
            },
        ));
    }
    let data_start = header_start + header_length;
    check_data_size(bytes, data_start, &header.shape, element.size_bytes)?;
    let Ok(shape) = header
        .shape
        .iter()
        .map(|&dim| usize::try_from(dim))
        .collect::<Result<Vec<usize>, _>>()
    else {
        return Err(bad_header("shape does not fit in memory".to_owned()));
    };
    let fortran = header.fortran_order && shape.len() == 2;
    let values = element.decode(&bytes[data_start..], &shape, fortran);
    Ok(NpyArray {
        shape,
        fortran_order: header.fortran_order,
        descr: header.descr,
        version: (major, minor),
        values,
    })
}

/// A `Truncated` error for `needed` bytes of `what` at `offset`.
fn truncated(bytes: &[u8], what: &'static str, offset: usize, needed: usize) -> NpyError {
    NpyError::at(
        offset as u64,
        NpyProblem::Truncated {
            what,
            needed: needed as u64,
            available: bytes.len().saturating_sub(offset) as u64,
        },
    )
}

/// Length of the header and where it starts: version 1 stores the length in two bytes,
/// versions 2 and 3 in four.
fn header_location(bytes: &[u8], major: u8, minor: u8) -> Result<(usize, usize), NpyError> {
    match major {
        1 => {
            let Some(raw) = bytes.get(8..10) else {
                return Err(truncated(bytes, "header length", 8, 2));
            };
            Ok((usize::from(u16::from_le_bytes([raw[0], raw[1]])), 10))
        }
        2 | 3 => {
            let Some(raw) = bytes.get(8..12) else {
                return Err(truncated(bytes, "header length", 8, 4));
            };
            let length = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
            Ok((usize::try_from(length).unwrap_or(usize::MAX), 12))
        }
        _ => Err(NpyError::at(
            6,
            NpyProblem::UnsupportedVersion { major, minor },
        )),
    }
}

/// The header as text. Versions 1 and 2 store it in Latin-1, version 3 in UTF-8; the keys and
/// values read here are ASCII in both.
fn header_text(header_bytes: &[u8], major: u8) -> String {
    if major == 3 {
        String::from_utf8_lossy(header_bytes).into_owned()
    } else {
        header_bytes.iter().map(|&byte| char::from(byte)).collect()
    }
}

/// Checks that the data after the header holds exactly the elements the shape declares.
fn check_data_size(
    bytes: &[u8],
    data_start: usize,
    shape: &[u64],
    element_size_bytes: usize,
) -> Result<(), NpyError> {
    let available = bytes.len() - data_start;
    let expected = shape
        .iter()
        .try_fold(element_size_bytes as u64, |total, &dim| {
            total.checked_mul(dim)
        });
    // The element count is only trusted once it matches the bytes present, so a corrupted
    // shape cannot make the reader allocate more than the file holds.
    if expected != Some(available as u64) {
        return Err(NpyError::at(
            data_start as u64,
            NpyProblem::DataSizeMismatch {
                expected: expected.unwrap_or(u64::MAX),
                available: available as u64,
            },
        ));
    }
    Ok(())
}

/// The element types this reader accepts: `float32` or `float64` in either byte order.
#[derive(Debug, Clone, Copy)]
struct ElementType {
    /// 4 or 8.
    size_bytes: usize,
    little_endian: bool,
}

impl ElementType {
    /// The element type a `descr` names, if it is one this reader accepts.
    fn of(descr: &str) -> Option<ElementType> {
        let (size_bytes, little_endian) = match descr {
            "<f4" | "=f4" => (4, true),
            ">f4" => (4, false),
            "<f8" | "=f8" => (8, true),
            ">f8" => (8, false),
            _ => return None,
        };
        Some(ElementType {
            size_bytes,
            little_endian,
        })
    }

    /// Decodes `data` (whose size has been checked against `shape`) into C-order values.
    fn decode(self, data: &[u8], shape: &[usize], fortran: bool) -> NpyValues {
        let rows = shape.first().copied().unwrap_or(1);
        let columns = shape.get(1).copied().unwrap_or(1);
        let count = data.len() / self.size_bytes;
        let order = ElementOrder {
            fortran,
            rows,
            columns,
            count,
        };
        if self.size_bytes == 4 {
            let raw: Vec<f32> = data
                .chunks_exact(4)
                .map(|chunk| {
                    let array = [chunk[0], chunk[1], chunk[2], chunk[3]];
                    if self.little_endian {
                        f32::from_le_bytes(array)
                    } else {
                        f32::from_be_bytes(array)
                    }
                })
                .collect();
            NpyValues::Float32(order.to_c_order(raw))
        } else {
            let raw: Vec<f64> = data
                .chunks_exact(8)
                .map(|chunk| {
                    let mut array = [0u8; 8];
                    array.copy_from_slice(chunk);
                    if self.little_endian {
                        f64::from_le_bytes(array)
                    } else {
                        f64::from_be_bytes(array)
                    }
                })
                .collect();
            NpyValues::Float64(order.to_c_order(raw))
        }
    }
}

/// How the file's elements are laid out, to bring them into C order.
#[derive(Debug, Clone, Copy)]
struct ElementOrder {
    /// Whether a 2-D array is stored column-major.
    fortran: bool,
    rows: usize,
    columns: usize,
    /// Number of elements.
    count: usize,
}

impl ElementOrder {
    /// Maps a C-order index to the position of that element in the file.
    fn source_index(self, index: usize) -> usize {
        if self.fortran {
            (index % self.columns) * self.rows + index / self.columns
        } else {
            index
        }
    }

    /// `raw` (in file order) in C order; unchanged when the file is already in C order.
    fn to_c_order<T: Copy>(self, raw: Vec<T>) -> Vec<T> {
        if self.fortran {
            (0..self.count)
                .map(|index| raw[self.source_index(index)])
                .collect()
        } else {
            raw
        }
    }
}

/// Reads and parses an NPY file.
pub fn read(path: impl AsRef<Path>) -> Result<NpyArray, NpyError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io {
        file: file_name(path),
        source,
    })?;
    parse(&bytes).map_err(|error| error.in_file(path))
}

struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// Parses the Python dictionary literal of an NPY header, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (100, 8), }`.
fn parse_header(text: &str) -> Result<Header, String> {
    let body = text
        .trim()
        .strip_prefix('{')
        .and_then(|rest| rest.trim_end().strip_suffix('}'))
        .ok_or_else(|| format!("not a dictionary: {text:?}"))?;
    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    let mut rest = body.trim();
    while !rest.is_empty() {
        let (key, after_key) =
            quoted(rest).ok_or_else(|| format!("expected a quoted key at {rest:?}"))?;
        let after_colon = after_key
            .trim_start()
            .strip_prefix(':')
            .ok_or_else(|| format!("expected ':' after key {key:?}"))?
            .trim_start();
        let after_value = match key {
            "descr" => {
                let (value, after) =
                    quoted(after_colon).ok_or_else(|| "descr is not a string".to_owned())?;
                descr = Some(value.to_owned());
                after
            }
            "fortran_order" => {
                if let Some(after) = after_colon.strip_prefix("True") {
                    fortran_order = Some(true);
                    after
                } else if let Some(after) = after_colon.strip_prefix("False") {
                    fortran_order = Some(false);
                    after
                } else {
                    return Err("fortran_order is not True or False".to_owned());
                }
            }
            "shape" => {
                let inner_start = after_colon
                    .strip_prefix('(')
                    .ok_or_else(|| "shape is not a tuple".to_owned())?;
                let close = inner_start
                    .find(')')
                    .ok_or_else(|| "shape tuple is not closed".to_owned())?;
                let dims = inner_start[..close]
                    .split(',')
                    .map(str::trim)
                    .filter(|dim| !dim.is_empty())
                    .map(|dim| {
                        dim.trim_end_matches('L')
                            .parse::<u64>()
                            .map_err(|_| format!("shape entry {dim:?} is not a count"))
                    })
                    .collect::<Result<Vec<u64>, String>>()?;
                shape = Some(dims);
                &inner_start[close + 1..]
            }
            other => return Err(format!("unknown key {other:?}")),
        };
        rest = after_value.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(Header {
        descr: descr.ok_or_else(|| "descr is missing".to_owned())?,
        fortran_order: fortran_order.ok_or_else(|| "fortran_order is missing".to_owned())?,
        shape: shape.ok_or_else(|| "shape is missing".to_owned())?,
    })
}

/// Splits a leading single- or double-quoted string off `text`.
fn quoted(text: &str) -> Option<(&str, &str)> {
    let quote = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &text[1..];
    let end = inner.find(quote)?;
    Some((&inner[..end], &inner[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_dictionary_parses() {
        let header =
            parse_header("{'descr': '<f4', 'fortran_order': True, 'shape': (57024, 8), }   \n")
                .unwrap();
        assert_eq!(header.descr, "<f4");
        assert!(header.fortran_order);
        assert_eq!(header.shape, vec![57024, 8]);
        let header =
            parse_header("{'descr': '<f8', 'fortran_order': False, 'shape': (5,)}").unwrap();
        assert_eq!(header.shape, vec![5]);
    }
}
