//! Calibration models fitted from recordings of a cued run: motor-imagery decoders
//! ([`imagery`]) and onset-locked SSVEP (TRCA) models ([`ssvep`]).

pub mod imagery;
pub mod ssvep;

/// Adds `annotations`' labels to `counts` (label, occurrences), for a message that lists a
/// recording's labels ([`neuroloop_acquisition::cues::label_listing`]).
pub(crate) fn count_labels(
    counts: &mut Vec<(String, usize)>,
    annotations: &[neuroloop_formats::Annotation],
) {
    for a in annotations {
        let label = a.label.trim();
        match counts.iter_mut().find(|(l, _)| l == label) {
            Some((_, n)) => *n += 1,
            None => counts.push((label.to_string(), 1)),
        }
    }
}
