//! Line and field splitting shared by the text layouts.

use std::path::Path;

use crate::error::{TextError, TextProblem, file_name};

/// One line of a text file with its position, for error messages.
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// Byte offset of the first character of the line.
    pub offset: u64,
    /// The line without its terminator (`\n` or `\r\n`).
    pub text: &'a str,
}

impl Line<'_> {
    pub(crate) fn error(&self, problem: TextProblem) -> TextError {
        TextError::at(self.number, self.offset, problem)
    }

    /// Parses field `column` of `fields` as a finite `f64`.
    pub(crate) fn number(&self, fields: &[&str], column: usize) -> Result<f64, TextError> {
        let Some(field) = fields.get(column) else {
            return Err(self.error(TextProblem::WrongFieldCount {
                expected: column + 1,
                found: fields.len(),
            }));
        };
        field
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| {
                self.error(TextProblem::BadNumber {
                    column,
                    value: (*field).to_owned(),
                    expected: "finite number",
                })
            })
    }
}

/// Checks that `bytes` are UTF-8 (an optional byte-order mark is skipped).
pub(crate) fn as_text(bytes: &[u8]) -> Result<&str, TextError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|error| {
        let offset = error.valid_up_to();
        let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
        TextError::at(line, offset as u64, TextProblem::NotUtf8)
    })
}

/// Splits text into lines, keeping line numbers and offsets.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut offset = 0u64;
    text.split_inclusive('\n')
        .enumerate()
        .map(move |(index, raw)| {
            let line = Line {
                number: index + 1,
                offset,
                text: raw.trim_end_matches(['\n', '\r']),
            };
            offset += raw.len() as u64;
            line
        })
}

/// The header of a CSV text: its line, its field names (trimmed), and the data lines after it
/// with blank lines skipped. A text without any line is an error naming the missing header.
pub(crate) fn csv_header(
    bytes: &[u8],
) -> Result<(Line<'_>, Vec<String>, impl Iterator<Item = Line<'_>>), TextError> {
    let text = as_text(bytes)?;
    let mut lines = lines(text);
    let Some(header) = lines.next() else {
        return Err(TextError::at(
            1,
            0,
            TextProblem::Missing {
                what: "header line",
            },
        ));
    };
    let names = csv_fields(header.text)
        .map_err(|problem| header.error(problem))?
        .iter()
        .map(|name| name.trim().to_owned())
        .collect();
    let data = lines.filter(|line| !line.text.trim().is_empty());
    Ok((header, names, data))
}

/// Splits one CSV line into fields, honouring double quotes (with `""` for a quote inside).
pub(crate) fn csv_fields(line: &str) -> Result<Vec<String>, TextProblem> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (in_quotes, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => in_quotes = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() && !was_quoted => {
                field.clear();
                in_quotes = true;
                was_quoted = true;
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, c) => field.push(c),
        }
    }
    if in_quotes {
        return Err(TextProblem::UnclosedQuote);
    }
    fields.push(field);
    Ok(fields)
}

/// Reads a file for a text parser and attaches the path to its errors.
pub(crate) fn read_with<T>(
    path: &Path,
    parse: impl FnOnce(&[u8]) -> Result<T, TextError>,
) -> Result<T, TextError> {
    let bytes = std::fs::read(path).map_err(|source| TextError::Io {
        file: file_name(path),
        source,
    })?;
    parse(&bytes).map_err(|error| error.in_file(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_handle_quotes() {
        assert_eq!(csv_fields("a,b").unwrap(), vec!["a", "b"]);
        assert_eq!(
            csv_fields("1,\"x, \"\"y\"\"\",z").unwrap(),
            vec!["1", "x, \"y\"", "z"]
        );
        assert_eq!(
            csv_fields("\"open").unwrap_err(),
            TextProblem::UnclosedQuote
        );
    }

    #[test]
    fn lines_track_offsets() {
        let all: Vec<(usize, u64, &str)> = lines("ab\r\ncd\n\nef")
            .map(|line| (line.number, line.offset, line.text))
            .collect();
        assert_eq!(
            all,
            vec![(1, 0, "ab"), (2, 4, "cd"), (3, 7, ""), (4, 8, "ef")]
        );
    }
}
