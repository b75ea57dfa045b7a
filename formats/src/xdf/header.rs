//! StreamHeader and StreamFooter XML: parsing into typed structs and writing back.

use crate::error::XdfProblem;

/// The value type of every channel of an XDF stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelFormat {
    /// 8-bit signed integers.
    Int8,
    /// 16-bit signed integers.
    Int16,
    /// 32-bit signed integers.
    Int32,
    /// 64-bit signed integers.
    Int64,
    /// 32-bit IEEE floats.
    Float32,
    /// 64-bit IEEE floats.
    Double64,
    /// Length-prefixed byte strings (UTF-8 by convention).
    String,
}

impl ChannelFormat {
    /// All formats, in the order the specification lists them.
    pub const ALL: [Self; 7] = [
        Self::Int8,
        Self::Int16,
        Self::Int32,
        Self::Int64,
        Self::Float32,
        Self::Double64,
        Self::String,
    ];

    /// The name used in `<channel_format>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Int8 => "int8",
            Self::Int16 => "int16",
            Self::Int32 => "int32",
            Self::Int64 => "int64",
            Self::Float32 => "float32",
            Self::Double64 => "double64",
            Self::String => "string",
        }
    }

    /// Parses a `<channel_format>` value.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str() == name.trim())
    }

    /// Bytes per value for numeric formats; `None` for strings, whose length varies.
    pub fn value_size_bytes(self) -> Option<usize> {
        match self {
            Self::Int8 => Some(1),
            Self::Int16 => Some(2),
            Self::Int32 | Self::Float32 => Some(4),
            Self::Int64 | Self::Double64 => Some(8),
            Self::String => None,
        }
    }
}

impl std::fmt::Display for ChannelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One channel description from `<desc><channels><channel>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XdfChannel {
    /// `<label>`, empty when absent.
    pub label: String,
    /// `<unit>`, empty when absent.
    pub unit: String,
    /// `<type>`, empty when absent.
    pub channel_type: String,
}

/// The typed content of a StreamHeader chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamHeader {
    /// `<name>`.
    pub name: String,
    /// `<type>` (content type such as `EEG` or `Markers`).
    pub stream_type: String,
    /// `<channel_count>`.
    pub channel_count: u32,
    /// `<nominal_srate>` in Hz; 0 for irregular streams.
    pub nominal_srate_hz: f64,
    /// `<channel_format>`.
    pub channel_format: ChannelFormat,
    /// `<source_id>`, empty when absent.
    pub source_id: String,
    /// `<hostname>`, empty when absent.
    pub hostname: String,
    /// `<uid>`, empty when absent.
    pub uid: String,
    /// `<created_at>` in seconds of the sender's clock, when present.
    pub created_at_s: Option<f64>,
    /// Channel descriptions from `<desc><channels>`; empty when the header has none.
    pub channels: Vec<XdfChannel>,
    /// `<desc><synchronization><can_drop_samples>` is `true`: the source may skip samples,
    /// so time stamps must not be regularised.
    pub can_drop_samples: bool,
    /// The XML text as stored in the file. Writers ignore this field and generate the XML
    /// from the typed fields.
    pub xml: String,
}

impl StreamHeader {
    /// A header with the required fields set and everything else empty.
    pub fn new(
        name: &str,
        stream_type: &str,
        channel_count: u32,
        nominal_srate_hz: f64,
        channel_format: ChannelFormat,
    ) -> Self {
        Self {
            name: name.to_owned(),
            stream_type: stream_type.to_owned(),
            channel_count,
            nominal_srate_hz,
            channel_format,
            source_id: String::new(),
            hostname: String::new(),
            uid: String::new(),
            created_at_s: None,
            channels: Vec::new(),
            can_drop_samples: false,
            xml: String::new(),
        }
    }

    /// Sets channel labels (units and types empty); handy when building a header to write.
    #[must_use]
    pub fn with_channel_labels<S: AsRef<str>>(mut self, labels: &[S]) -> Self {
        self.channels = labels
            .iter()
            .map(|label| XdfChannel {
                label: label.as_ref().to_owned(),
                ..XdfChannel::default()
            })
            .collect();
        self
    }

    /// Channel labels from the description, one per channel; missing labels are empty.
    pub fn channel_labels(&self) -> Vec<String> {
        self.channels
            .iter()
            .map(|channel| channel.label.clone())
            .collect()
    }

    /// Parses StreamHeader XML.
    pub fn from_xml(xml: &str) -> Result<Self, XdfProblem> {
        let document = parse_document(xml, "StreamHeader")?;
        let info = document.root_element();
        let text = |name: &'static str| child_text(info, name);
        let Some(count_text) = text("channel_count") else {
            return Err(XdfProblem::MissingHeaderField {
                field: "channel_count",
            });
        };
        let Ok(channel_count) = count_text.trim().parse::<u32>() else {
            return Err(XdfProblem::BadHeaderField {
                field: "channel_count",
                value: count_text,
            });
        };
        let Some(format_text) = text("channel_format") else {
            return Err(XdfProblem::MissingHeaderField {
                field: "channel_format",
            });
        };
        let Some(channel_format) = ChannelFormat::from_name(&format_text) else {
            return Err(XdfProblem::BadHeaderField {
                field: "channel_format",
                value: format_text,
            });
        };
        // A missing rate is read as irregular sampling, which is what LSL means by 0.
        let nominal_srate_hz = match text("nominal_srate") {
            None => 0.0,
            Some(rate_text) => match rate_text.trim().parse::<f64>() {
                Ok(rate) if rate.is_finite() && rate >= 0.0 => rate,
                _ => {
                    return Err(XdfProblem::BadHeaderField {
                        field: "nominal_srate",
                        value: rate_text,
                    });
                }
            },
        };
        let created_at_s = text("created_at").and_then(|value| value.trim().parse::<f64>().ok());
        let desc = child(info, "desc");
        let channels = desc
            .and_then(|desc| child(desc, "channels"))
            .map(|channels| {
                channels
                    .children()
                    .filter(|node| node.has_tag_name("channel"))
                    .map(|channel| XdfChannel {
                        label: child_text(channel, "label").unwrap_or_default(),
                        unit: child_text(channel, "unit").unwrap_or_default(),
                        channel_type: child_text(channel, "type").unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let can_drop_samples = desc
            .and_then(|desc| child(desc, "synchronization"))
            .and_then(|sync| child_text(sync, "can_drop_samples"))
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
        Ok(Self {
            name: text("name").unwrap_or_default(),
            stream_type: text("type").unwrap_or_default(),
            channel_count,
            nominal_srate_hz,
            channel_format,
            source_id: text("source_id").unwrap_or_default(),
            hostname: text("hostname").unwrap_or_default(),
            uid: text("uid").unwrap_or_default(),
            created_at_s,
            channels,
            can_drop_samples,
            xml: xml.to_owned(),
        })
    }

    /// Renders the typed fields as StreamHeader XML.
    pub fn to_xml(&self) -> String {
        let mut xml = String::from("<?xml version=\"1.0\"?>\n<info>\n");
        push_element(&mut xml, 1, "name", &self.name);
        push_element(&mut xml, 1, "type", &self.stream_type);
        push_element(
            &mut xml,
            1,
            "channel_count",
            &self.channel_count.to_string(),
        );
        push_element(
            &mut xml,
            1,
            "nominal_srate",
            &format_float(self.nominal_srate_hz),
        );
        push_element(&mut xml, 1, "channel_format", self.channel_format.as_str());
        push_element(&mut xml, 1, "source_id", &self.source_id);
        if let Some(created_at_s) = self.created_at_s {
            push_element(&mut xml, 1, "created_at", &format_float(created_at_s));
        }
        push_element(&mut xml, 1, "uid", &self.uid);
        push_element(&mut xml, 1, "hostname", &self.hostname);
        xml.push_str("\t<desc>\n");
        if !self.channels.is_empty() {
            xml.push_str("\t\t<channels>\n");
            for channel in &self.channels {
                xml.push_str("\t\t\t<channel>\n");
                push_element(&mut xml, 4, "label", &channel.label);
                if !channel.unit.is_empty() {
                    push_element(&mut xml, 4, "unit", &channel.unit);
                }
                if !channel.channel_type.is_empty() {
                    push_element(&mut xml, 4, "type", &channel.channel_type);
                }
                xml.push_str("\t\t\t</channel>\n");
            }
            xml.push_str("\t\t</channels>\n");
        }
        if self.can_drop_samples {
            xml.push_str("\t\t<synchronization>\n");
            push_element(&mut xml, 3, "can_drop_samples", "true");
            xml.push_str("\t\t</synchronization>\n");
        }
        xml.push_str("\t</desc>\n</info>\n");
        xml
    }
}

/// The typed content of a StreamFooter chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamFooter {
    /// `<first_timestamp>` in seconds, when present and numeric.
    pub first_timestamp_s: Option<f64>,
    /// `<last_timestamp>` in seconds, when present and numeric.
    pub last_timestamp_s: Option<f64>,
    /// `<sample_count>`, when present and numeric.
    pub sample_count: Option<u64>,
    /// The XML text as stored in the file.
    pub xml: String,
}

impl StreamFooter {
    /// Parses StreamFooter XML. Footers are informational, so unreadable numbers become `None`
    /// rather than errors; only XML that does not parse at all is rejected.
    pub fn from_xml(xml: &str) -> Result<Self, XdfProblem> {
        let document = parse_document(xml, "StreamFooter")?;
        let info = document.root_element();
        let number = |name| child_text(info, name).and_then(|text| text.trim().parse::<f64>().ok());
        Ok(Self {
            first_timestamp_s: number("first_timestamp"),
            last_timestamp_s: number("last_timestamp"),
            sample_count: child_text(info, "sample_count")
                .and_then(|text| text.trim().parse::<u64>().ok()),
            xml: xml.to_owned(),
        })
    }
}

/// Checks that a FileHeader holds well-formed XML and returns its `<version>`, if any.
pub(crate) fn file_header_version(xml: &str) -> Result<Option<String>, XdfProblem> {
    let document = parse_document(xml, "FileHeader")?;
    Ok(child_text(document.root_element(), "version"))
}

fn parse_document<'a>(
    xml: &'a str,
    chunk: &'static str,
) -> Result<roxmltree::Document<'a>, XdfProblem> {
    roxmltree::Document::parse(xml).map_err(|error| XdfProblem::BadXml {
        chunk,
        message: error.to_string(),
    })
}

fn child<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &str,
) -> Option<roxmltree::Node<'a, 'input>> {
    node.children().find(|child| child.has_tag_name(name))
}

fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(|element| element.text().unwrap_or_default().to_owned())
}

fn push_element(xml: &mut String, depth: usize, name: &str, value: &str) {
    for _ in 0..depth {
        xml.push('\t');
    }
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
    escape_into(xml, value);
    xml.push_str("</");
    xml.push_str(name);
    xml.push_str(">\n");
}

pub(crate) fn escape_into(xml: &mut String, value: &str) {
    for character in value.chars() {
        match character {
            '<' => xml.push_str("&lt;"),
            '>' => xml.push_str("&gt;"),
            '&' => xml.push_str("&amp;"),
            '"' => xml.push_str("&quot;"),
            '\'' => xml.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters even as references, so they are
            // dropped rather than producing a header that no reader accepts.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => xml.push(c),
        }
    }
}

/// Formats a float so that parsing it back gives the same value (Rust's shortest round-trip
/// representation).
pub(crate) fn format_float(value: f64) -> String {
    format!("{value:?}")
}
