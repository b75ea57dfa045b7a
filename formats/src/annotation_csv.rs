//! Generic annotation CSV: a header line `onset_s,duration_s,label`, then one annotation per
//! line. Labels containing commas, quotes or line breaks are double-quoted (quotes doubled),
//! so any label survives a write and read.

use std::path::Path;

use crate::error::{TextError, TextProblem, file_name};
use crate::recording::Annotation;
use crate::text::{self, csv_fields};

/// The header line written and expected.
pub const HEADER: &str = "onset_s,duration_s,label";

/// Parses annotation CSV bytes. Blank lines are skipped.
pub fn parse(bytes: &[u8]) -> Result<Vec<Annotation>, TextError> {
    let (header, names, lines) = text::csv_header(bytes)?;
    if names != ["onset_s", "duration_s", "label"] {
        return Err(header.error(TextProblem::BadHeader {
            found: header.text.to_owned(),
            expected: HEADER,
        }));
    }
    let mut annotations = Vec::new();
    for line in lines {
        let fields = csv_fields(line.text).map_err(|problem| line.error(problem))?;
        if fields.len() != 3 {
            return Err(line.error(TextProblem::WrongFieldCount {
                expected: 3,
                found: fields.len(),
            }));
        }
        let as_str: Vec<&str> = fields.iter().map(String::as_str).collect();
        let onset_s = line.number(&as_str, 0)?;
        let duration_s = line.number(&as_str, 1)?;
        if duration_s < 0.0 {
            return Err(line.error(TextProblem::BadNumber {
                column: 1,
                value: fields[1].clone(),
                expected: "non-negative duration",
            }));
        }
        annotations.push(Annotation {
            onset_s,
            duration_s,
            label: fields[2].clone(),
        });
    }
    Ok(annotations)
}

/// Reads an annotation CSV file.
pub fn read(path: impl AsRef<Path>) -> Result<Vec<Annotation>, TextError> {
    text::read_with(path.as_ref(), parse)
}

/// Renders annotations as CSV text (numbers in their shortest exact form).
pub fn to_string(annotations: &[Annotation]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for annotation in annotations {
        out.push_str(&format!(
            "{},{},",
            annotation.onset_s, annotation.duration_s
        ));
        let label = &annotation.label;
        if label.contains([',', '"', '\n', '\r']) || label.trim() != label {
            out.push('"');
            out.push_str(&label.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(label);
        }
        out.push('\n');
    }
    out
}

/// Writes annotations to a CSV file (replacing it).
pub fn write(path: impl AsRef<Path>, annotations: &[Annotation]) -> Result<(), TextError> {
    let path = path.as_ref();
    std::fs::write(path, to_string(annotations)).map_err(|source| TextError::Io {
        file: file_name(path),
        source,
    })
}
