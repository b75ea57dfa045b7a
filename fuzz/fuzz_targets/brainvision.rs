//! Feeds arbitrary bytes to the BrainVision header and marker parsers, and a header, marker
//! file and data file split from one input to the whole reader, converting what parses.
//!
//! Split layout: two little-endian `u16` lengths (header, markers), then the header bytes, the
//! marker bytes and the data bytes; lengths beyond the input are cut to what remains.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neuroloop_formats::brainvision;

fuzz_target!(|data: &[u8]| {
    let _ = brainvision::parse_header(data);
    let _ = brainvision::parse_markers(data);
    let Some((lengths, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let header_len = usize::from(u16::from_le_bytes([lengths[0], lengths[1]])).min(rest.len());
    let (header, rest) = rest.split_at(header_len);
    let marker_len = usize::from(u16::from_le_bytes([lengths[2], lengths[3]])).min(rest.len());
    let (markers, samples) = rest.split_at(marker_len);
    if let Ok(header) = brainvision::parse_header(header) {
        let _ = brainvision::decode_data(&header, samples);
    }
    if let Ok(file) = brainvision::parse(header, samples, Some(markers)) {
        let _ = file.to_recording();
    }
});
