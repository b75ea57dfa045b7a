//! Approximate scalp positions of 10-10 electrodes, used to spread simulated sources over
//! channels with a smooth spatial falloff.
//!
//! Coordinates are a flat projection: `x` from left (-1) to right (+1) ear, `y` from inion (-1)
//! to nasion (+1). They only need to be good enough that an occipital source is strongest at
//! Oz and weak at Fz, and that C3 and C4 see different motor sources.

/// The default 8-channel montage: a common low-density research cap layout.
pub const DEFAULT_MONTAGE: [&str; 8] = ["Fz", "C3", "Cz", "C4", "Pz", "O1", "Oz", "O2"];

/// The standard 64-channel 10-10 montage (the layout used by EEGMMIDB and many 64-channel caps).
pub const MONTAGE_64: [&str; 64] = [
    "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
    "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6", "Fp1", "Fpz", "Fp2", "AF7", "AF3", "AFz",
    "AF4", "AF8", "F7", "F5", "F3", "F1", "Fz", "F2", "F4", "F6", "F8", "FT7", "FT8", "T7", "T8",
    "T9", "T10", "TP7", "TP8", "P7", "P5", "P3", "P1", "Pz", "P2", "P4", "P6", "P8", "PO7", "PO3",
    "POz", "PO4", "PO8", "O1", "Oz", "O2", "Iz",
];

/// Rows of the 10-10 grid: (label prefix, y coordinate, lateral extent of the row).
const ROWS: [(&str, f64, f64); 11] = [
    ("FP", 0.9, 0.3),
    ("AF", 0.75, 0.55),
    ("F", 0.5, 0.8),
    ("FT", 0.25, 0.9),
    ("FC", 0.25, 0.8),
    ("T", 0.0, 1.0),
    ("C", 0.0, 1.0),
    ("TP", -0.25, 0.9),
    ("CP", -0.25, 0.8),
    ("P", -0.5, 0.8),
    ("PO", -0.75, 0.55),
];

/// Position of a 10-10 label, or `None` for labels this table does not know.
/// Labels are matched case-insensitively and trailing dots (as in some EDF exports) are ignored.
pub fn position(label: &str) -> Option<(f64, f64)> {
    let clean: String = label
        .trim()
        .trim_end_matches('.')
        .to_ascii_uppercase()
        .chars()
        .collect();
    match clean.as_str() {
        "O1" => return Some((-0.3, -0.9)),
        "OZ" => return Some((0.0, -0.9)),
        "O2" => return Some((0.3, -0.9)),
        "IZ" => return Some((0.0, -1.05)),
        "T9" => return Some((-1.1, 0.0)),
        "T10" => return Some((1.1, 0.0)),
        "T3" => return Some((-1.0, 0.0)),
        "T4" => return Some((1.0, 0.0)),
        "T5" => return Some((-0.8, -0.5)),
        "T6" => return Some((0.8, -0.5)),
        _ => {}
    }
    // Longest prefix first so that "FC" wins over "F".
    let mut best: Option<(&str, f64, f64)> = None;
    for &(prefix, y, extent) in &ROWS {
        if clean.starts_with(prefix) && best.is_none_or(|(p, _, _)| prefix.len() > p.len()) {
            best = Some((prefix, y, extent));
        }
    }
    let (prefix, y, extent) = best?;
    let suffix = &clean[prefix.len()..];
    if suffix == "Z" {
        return Some((0.0, y));
    }
    let n: u32 = suffix.parse().ok()?;
    if n == 0 {
        return None;
    }
    // Odd numbers are on the left, even on the right; the number grows with laterality.
    // T7/T8, FT7/FT8, TP7/TP8 and the 7/8 positions sit at the edge of their row.
    let step = if prefix.starts_with('T') || prefix == "FT" {
        1.0
    } else {
        let max_n = match prefix {
            "FP" => 1.0,
            "AF" | "PO" => 4.0,
            _ => 4.0,
        };
        ((n.div_ceil(2)) as f64 / max_n).min(1.0)
    };
    let x = extent * step;
    Some(if n % 2 == 1 { (-x, y) } else { (x, y) })
}

/// Spatial weight of a source at `centre` seen from an electrode at `pos`: a Gaussian falloff
/// with width `spread` (in the same flat units).
pub fn weight(pos: (f64, f64), centre: (f64, f64), spread: f64) -> f64 {
    let dx = pos.0 - centre.0;
    let dy = pos.1 - centre.1;
    (-(dx * dx + dy * dy) / (2.0 * spread * spread)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_positions() {
        assert_eq!(position("Cz"), Some((0.0, 0.0)));
        assert_eq!(position("oz"), Some((0.0, -0.9)));
        let c3 = position("C3").unwrap();
        let c4 = position("C4").unwrap();
        assert!(c3.0 < 0.0 && c4.0 > 0.0 && (c3.0 + c4.0).abs() < 1e-12);
        assert_eq!(position("Fc5."), position("FC5"));
        assert!(position("FC5").unwrap().1 > position("C5").unwrap().1);
        assert!(position("T8").unwrap().0 > position("C6").unwrap().0);
        assert_eq!(position("EXG1"), None);
    }

    #[test]
    fn every_standard_label_has_a_position() {
        for label in MONTAGE_64.iter().chain(DEFAULT_MONTAGE.iter()) {
            assert!(position(label).is_some(), "{label}");
        }
    }

    #[test]
    fn weights_fall_off_with_distance() {
        let oz = position("Oz").unwrap();
        let fz = position("Fz").unwrap();
        assert!(weight(oz, oz, 0.4) > 0.99);
        assert!(weight(fz, oz, 0.4) < 0.01);
    }
}
