//! The FIF tag stream and its block tree.
//!
//! A FIF file is a sequence of tags, each a 16-byte big-endian header (kind `i32`, type `u32`,
//! data size `i32`, position of the next tag `i32`) followed by its data. `FIFF_BLOCK_START`
//! and `FIFF_BLOCK_END` tags nest the others into blocks (measurement, measurement info, raw
//! data, ...). The tags are read in file order, as MNE does when a file has no usable tag
//! directory, which is what MNE itself writes (`FIFF_DIR_POINTER` = -1); a directory, when
//! present, lists the same tags.

use super::{FifError, FifProblem};

/// Bytes in a tag header.
pub(super) const TAG_HEADER_BYTES: usize = 16;

// Tag kinds (MNE's `_fiff/constants.py`).
pub(super) const FIFF_FILE_ID: i32 = 100;
pub(super) const FIFF_DIR_POINTER: i32 = 101;
pub(super) const FIFF_BLOCK_ID: i32 = 103;
pub(super) const FIFF_BLOCK_START: i32 = 104;
pub(super) const FIFF_BLOCK_END: i32 = 105;
pub(super) const FIFF_PARENT_BLOCK_ID: i32 = 110;
pub(super) const FIFF_REF_ROLE: i32 = 115;
pub(super) const FIFF_REF_FILE_NUM: i32 = 117;
pub(super) const FIFF_REF_FILE_NAME: i32 = 118;
pub(super) const FIFF_NCHAN: i32 = 200;
pub(super) const FIFF_SFREQ: i32 = 201;
pub(super) const FIFF_CH_INFO: i32 = 203;
pub(super) const FIFF_MEAS_DATE: i32 = 204;
pub(super) const FIFF_COMMENT: i32 = 206;
pub(super) const FIFF_FIRST_SAMPLE: i32 = 208;
pub(super) const FIFF_EXPERIMENTER: i32 = 212;
pub(super) const FIFF_LOWPASS: i32 = 219;
pub(super) const FIFF_HIGHPASS: i32 = 223;
pub(super) const FIFF_LINE_FREQ: i32 = 235;
pub(super) const FIFF_CH_SCAN_NO: i32 = 250;
pub(super) const FIFF_CH_LOGICAL_NO: i32 = 251;
pub(super) const FIFF_CH_KIND: i32 = 252;
pub(super) const FIFF_CH_RANGE: i32 = 253;
pub(super) const FIFF_CH_CAL: i32 = 254;
pub(super) const FIFF_CH_UNIT: i32 = 256;
pub(super) const FIFF_CH_UNIT_MUL: i32 = 257;
pub(super) const FIFF_CH_DACQ_NAME: i32 = 258;
pub(super) const FIFF_CH_COIL_TYPE: i32 = 350;
pub(super) const FIFF_DATA_BUFFER: i32 = 300;
pub(super) const FIFF_DATA_SKIP: i32 = 301;
pub(super) const FIFF_MNE_CH_NAME_LIST: i32 = 3507;
pub(super) const FIFF_MNE_EVENT_LIST: i32 = 3561;
pub(super) const FIFF_MNE_BASELINE_MIN: i32 = 3568;
pub(super) const FIFF_MNE_BASELINE_MAX: i32 = 3569;

// Block kinds.
pub(super) const FIFFB_MEAS: i32 = 100;
pub(super) const FIFFB_MEAS_INFO: i32 = 101;
pub(super) const FIFFB_RAW_DATA: i32 = 102;
pub(super) const FIFFB_CONTINUOUS_DATA: i32 = 112;
pub(super) const FIFFB_CH_INFO: i32 = 113;
pub(super) const FIFFB_REF: i32 = 118;
pub(super) const FIFFB_IAS_RAW_DATA: i32 = 119;
pub(super) const FIFFB_MNE_BAD_CHANNELS: i32 = 359;
pub(super) const FIFFB_MNE_EVENTS: i32 = 361;
pub(super) const FIFFB_MNE_ANNOTATIONS: i32 = 3810;

// Data types.
pub(super) const FIFFT_BYTE: u32 = 1;
pub(super) const FIFFT_SHORT: u32 = 2;
pub(super) const FIFFT_INT: u32 = 3;
pub(super) const FIFFT_FLOAT: u32 = 4;
pub(super) const FIFFT_DOUBLE: u32 = 5;
pub(super) const FIFFT_USHORT: u32 = 7;
pub(super) const FIFFT_UINT: u32 = 8;
pub(super) const FIFFT_STRING: u32 = 10;
pub(super) const FIFFT_DAU_PACK16: u32 = 16;
pub(super) const FIFFT_COMPLEX_FLOAT: u32 = 20;
pub(super) const FIFFT_COMPLEX_DOUBLE: u32 = 21;
pub(super) const FIFFT_CH_INFO_STRUCT: u32 = 30;
pub(super) const FIFFT_ID_STRUCT: u32 = 31;

/// `next` value of a tag that ends the tag stream.
const FIFFV_NEXT_NONE: i32 = -1;

/// Name of a tag kind for messages.
pub(super) fn kind_name(kind: i32) -> &'static str {
    match kind {
        FIFF_FILE_ID => "FIFF_FILE_ID",
        FIFF_DIR_POINTER => "FIFF_DIR_POINTER",
        FIFF_BLOCK_START => "FIFF_BLOCK_START",
        FIFF_NCHAN => "FIFF_NCHAN",
        FIFF_SFREQ => "FIFF_SFREQ",
        FIFF_CH_INFO => "FIFF_CH_INFO",
        FIFF_MEAS_DATE => "FIFF_MEAS_DATE",
        FIFF_COMMENT => "FIFF_COMMENT",
        FIFF_FIRST_SAMPLE => "FIFF_FIRST_SAMPLE",
        FIFF_LINE_FREQ => "FIFF_LINE_FREQ",
        FIFF_DATA_BUFFER => "FIFF_DATA_BUFFER",
        FIFF_DATA_SKIP => "FIFF_DATA_SKIP",
        FIFF_MNE_EVENT_LIST => "FIFF_MNE_EVENT_LIST",
        FIFF_MNE_BASELINE_MIN => "FIFF_MNE_BASELINE_MIN",
        FIFF_MNE_BASELINE_MAX => "FIFF_MNE_BASELINE_MAX",
        FIFF_CH_DACQ_NAME => "FIFF_CH_DACQ_NAME",
        _ => "tag",
    }
}

/// One tag header; its data are `size` bytes from `pos + 16`, inside the file (checked when
/// the tag stream is read).
#[derive(Debug, Clone, Copy)]
pub(super) struct Tag {
    /// What the tag holds (`FIFF_*`).
    pub kind: i32,
    /// How its data are encoded (`FIFFT_*`).
    pub type_code: u32,
    /// Byte offset of the tag header.
    pub pos: usize,
    /// Data bytes.
    pub size: usize,
}

impl Tag {
    /// The tag's data bytes.
    pub fn data<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        let start = self.pos + TAG_HEADER_BYTES;
        bytes.get(start..start + self.size).unwrap_or_default()
    }

    /// An error about this tag, at its header's offset.
    pub fn error(&self, message: impl Into<String>) -> FifError {
        FifError::at(
            self.pos as u64,
            FifProblem::BadTag {
                kind: self.kind,
                name: kind_name(self.kind),
                message: message.into(),
            },
        )
    }

    /// The values of a numeric tag (byte, short, int, unsigned, float, double, 16-bit packed)
    /// as `f64`, in file order.
    pub fn numbers(&self, bytes: &[u8]) -> Result<Vec<f64>, FifError> {
        let data = self.data(bytes);
        let width = match self.type_code {
            FIFFT_BYTE => 1,
            FIFFT_SHORT | FIFFT_USHORT | FIFFT_DAU_PACK16 => 2,
            FIFFT_INT | FIFFT_UINT | FIFFT_FLOAT => 4,
            FIFFT_DOUBLE => 8,
            other => return Err(self.error(format!("has data type {other}, not a number"))),
        };
        if !data.len().is_multiple_of(width) {
            return Err(self.error(format!(
                "holds {} bytes, not a whole number of {width}-byte values",
                data.len()
            )));
        }
        Ok(data
            .chunks_exact(width)
            .map(|value| decode_number(self.type_code, value))
            .collect())
    }

    /// The first value of a numeric tag (MNE reads such tags with `.item()`).
    pub fn number(&self, bytes: &[u8]) -> Result<f64, FifError> {
        self.numbers(bytes)?
            .first()
            .copied()
            .ok_or_else(|| self.error("holds no value"))
    }

    /// The first value of an integer tag (short, int or their unsigned forms, or byte).
    pub fn int(&self, bytes: &[u8]) -> Result<i64, FifError> {
        match self.type_code {
            FIFFT_BYTE | FIFFT_SHORT | FIFFT_USHORT | FIFFT_INT | FIFFT_UINT => {
                // Every value of these types is an integer that f64 holds exactly.
                Ok(self.number(bytes)? as i64)
            }
            other => Err(self.error(format!("has data type {other}, not an integer"))),
        }
    }

    /// The text of a string tag, decoded as ISO 8859-1 (the FIFF standard, as MNE does).
    pub fn string(&self, bytes: &[u8]) -> Result<String, FifError> {
        if self.type_code != FIFFT_STRING {
            return Err(self.error(format!("has data type {}, not a string", self.type_code)));
        }
        Ok(self
            .data(bytes)
            .iter()
            .map(|&byte| char::from(byte))
            .collect())
    }
}

/// One value of a simple type from its big-endian bytes (`value.len()` is the type's width).
fn decode_number(type_code: u32, value: &[u8]) -> f64 {
    let mut word = [0u8; 8];
    word[..value.len()].copy_from_slice(value);
    match type_code {
        FIFFT_BYTE => f64::from(word[0]),
        FIFFT_SHORT | FIFFT_DAU_PACK16 => f64::from(i16::from_be_bytes([word[0], word[1]])),
        FIFFT_USHORT => f64::from(u16::from_be_bytes([word[0], word[1]])),
        FIFFT_INT => f64::from(i32::from_be_bytes([word[0], word[1], word[2], word[3]])),
        FIFFT_UINT => f64::from(u32::from_be_bytes([word[0], word[1], word[2], word[3]])),
        FIFFT_FLOAT => f64::from(f32::from_be_bytes([word[0], word[1], word[2], word[3]])),
        _ => f64::from_be_bytes(word),
    }
}

/// A big-endian `i32` at `offset` of `data` (0 past the end; callers check sizes first).
pub(super) fn be_i32(data: &[u8], offset: usize) -> i32 {
    data.get(offset..offset + 4)
        .and_then(|slice| slice.try_into().ok())
        .map_or(0, i32::from_be_bytes)
}

/// A big-endian `f32` at `offset` of `data` (0 past the end; callers check sizes first).
pub(super) fn be_f32(data: &[u8], offset: usize) -> f32 {
    f32::from_bits(be_i32(data, offset) as u32)
}

/// Reads every tag header, in file order, checking that each tag's data lie inside the file.
pub(super) fn read_tags(bytes: &[u8]) -> Result<Vec<Tag>, FifError> {
    check_file_start(bytes)?;
    let mut tags = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let available = bytes.len() - pos;
        let Some(header) = bytes.get(pos..pos + TAG_HEADER_BYTES) else {
            return Err(FifError::at(
                pos as u64,
                FifProblem::Truncated {
                    what: "tag header",
                    needed: TAG_HEADER_BYTES as u64,
                    available: available as u64,
                },
            ));
        };
        let kind = be_i32(header, 0);
        let size = be_i32(header, 8);
        let next = be_i32(header, 12);
        let data_available = available - TAG_HEADER_BYTES;
        let size = match usize::try_from(size) {
            Ok(size) if size <= data_available => size,
            _ => {
                return Err(FifError::at(
                    pos as u64,
                    FifProblem::TagBeyondFile {
                        kind,
                        size: i64::from(size),
                        available: data_available as u64,
                    },
                ));
            }
        };
        tags.push(Tag {
            kind,
            type_code: be_i32(header, 4) as u32,
            pos,
            size,
        });
        pos = match next_position(pos, size, next, bytes.len(), kind)? {
            Some(next) => next,
            None => break,
        };
    }
    if tags.len() < 2 || tags[1].kind != FIFF_DIR_POINTER {
        return Err(FifError::at(
            tags.get(1).map_or(bytes.len(), |tag| tag.pos) as u64,
            FifProblem::NoDirectoryPointer,
        ));
    }
    Ok(tags)
}

/// Where the tag after the one at `pos` starts: right after its data (`next` = 0), at
/// `next` (> 0), or nowhere (`next` < 0, the end of the tag stream as MNE reads it).
fn next_position(
    pos: usize,
    size: usize,
    next: i32,
    file_bytes: usize,
    kind: i32,
) -> Result<Option<usize>, FifError> {
    if next == 0 {
        return Ok(Some(pos + TAG_HEADER_BYTES + size));
    }
    if next <= FIFFV_NEXT_NONE {
        return Ok(None);
    }
    // A pointer backwards (or onto the tag itself) would make the stream loop forever.
    match usize::try_from(next) {
        Ok(next) if next > pos && next <= file_bytes => Ok(Some(next)),
        _ => Err(FifError::at(
            pos as u64,
            FifProblem::BadNextPointer {
                kind,
                next: i64::from(next),
            },
        )),
    }
}

/// Checks that the file starts with a file id tag (kind 100, type 31, 20 bytes), as MNE
/// requires, and recognises gzip-compressed files.
fn check_file_start(bytes: &[u8]) -> Result<(), FifError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(FifError::at(0, FifProblem::Compressed));
    }
    let header = bytes.get(..TAG_HEADER_BYTES).unwrap_or(bytes);
    let is_file_id = header.len() == TAG_HEADER_BYTES
        && be_i32(header, 0) == FIFF_FILE_ID
        && be_i32(header, 4) as u32 == FIFFT_ID_STRUCT
        && be_i32(header, 8) == 20;
    if is_file_id {
        Ok(())
    } else {
        Err(FifError::at(
            0,
            FifProblem::NotFif {
                found: header.to_vec(),
            },
        ))
    }
}

/// A block of the tree: its own tags (block start and end tags excluded) and its sub-blocks.
#[derive(Debug)]
pub(super) struct Node {
    /// The block kind (`FIFFB_*`); 0 for the file root.
    pub block: i32,
    /// Byte offset of the block's start tag (0 for the root).
    pub pos: usize,
    /// The tags directly inside the block, in file order.
    pub entries: Vec<Tag>,
    /// Indices of the sub-blocks in [`Tree::nodes`], in file order.
    pub children: Vec<usize>,
}

impl Node {
    /// The first tag of `kind` directly in this block.
    pub fn find(&self, kind: i32) -> Option<&Tag> {
        self.entries.iter().find(|tag| tag.kind == kind)
    }

    /// The last tag of `kind` directly in this block.
    pub fn find_last(&self, kind: i32) -> Option<&Tag> {
        self.entries.iter().rev().find(|tag| tag.kind == kind)
    }
}

/// The block tree of a file; `nodes[0]` is the root.
#[derive(Debug)]
pub(super) struct Tree {
    /// All blocks, the root first, in the order their start tags appear.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Builds the tree. As in MNE, a block end closes the innermost open block, a stray block
    /// end at the root is ignored and blocks still open at the end of the file end there.
    pub fn build(bytes: &[u8], tags: Vec<Tag>) -> Result<Tree, FifError> {
        let mut nodes = vec![Node {
            block: 0,
            pos: 0,
            entries: Vec::new(),
            children: Vec::new(),
        }];
        // An explicit stack rather than recursion: nesting depth comes from the file.
        let mut open = vec![0usize];
        for tag in tags {
            let current = open.last().copied().unwrap_or(0);
            match tag.kind {
                FIFF_BLOCK_START => {
                    let block = i32::try_from(tag.int(bytes)?)
                        .map_err(|_| tag.error("holds a block kind out of range"))?;
                    let index = nodes.len();
                    nodes.push(Node {
                        block,
                        pos: tag.pos,
                        entries: Vec::new(),
                        children: Vec::new(),
                    });
                    nodes[current].children.push(index);
                    open.push(index);
                }
                FIFF_BLOCK_END => {
                    if open.len() > 1 {
                        open.pop();
                    }
                }
                _ => nodes[current].entries.push(tag),
            }
        }
        Ok(Tree { nodes })
    }

    /// The blocks of kind `block` at or below `start`, in file order (MNE's `dir_tree_find`).
    pub fn find(&self, start: usize, block: i32) -> Vec<usize> {
        let mut found = Vec::new();
        let mut pending = vec![start];
        while let Some(index) = pending.pop() {
            let node = &self.nodes[index];
            if node.block == block {
                found.push(index);
            }
            pending.extend(node.children.iter().rev());
        }
        found
    }
}
