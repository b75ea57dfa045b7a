//! Channel roles: a paradigm's channels found by their 10-20 name in the spellings files and
//! amplifiers use (`C3`, `c3`, `C3..` as EEGMMIDB writes it, `C3-A2` or `C3-M2` with their
//! reference, `EEG C3-A2` as EDF+ prefixes it), with a preference order for each role.
//!
//! A decoder given a label finds that channel, by its exact label first and by its 10-20 name
//! otherwise; a decoder given none takes the first channel of its role's list the stream has.

/// Central channels where sleep spindles are scored, most usual first.
pub const SPINDLE_CHANNELS: &[&str] = &["Cz", "C3", "C4", "C1", "C2", "CPz", "FCz"];

/// Frontal channels where slow oscillations are largest, then central ones.
pub const SO_CHANNELS: &[&str] = &[
    "Fz", "FCz", "F3", "F4", "AFz", "F1", "F2", "Fpz", "Cz", "C3", "C4",
];

/// Prefixes of channel labels that name the signal type rather than the site.
const TYPE_PREFIXES: &[&str] = &["EEG ", "EEG-", "EEG_"];

/// Reference electrodes written after a site (`C3-A2`, `C3:M2`, `C3_REF`).
const REFERENCES: &[&str] = &[
    "A1", "A2", "M1", "M2", "REF", "LE", "RE", "AVG", "AR", "CAR", "CZ", "FPZ", "LM", "RM",
];

/// The 10-20 name of a channel label, upper case: `EEG C3-A2` → `C3`, `Fc5.` → `FC5`,
/// `Cz-A1` → `CZ`. A label that is not a site with an optional reference comes back
/// trimmed and upper-cased.
pub fn ten_twenty_name(label: &str) -> String {
    let mut name = label.trim().trim_end_matches('.').to_ascii_uppercase();
    for prefix in TYPE_PREFIXES {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest.trim().to_string();
            break;
        }
    }
    for sep in ['-', ':', '_', '/'] {
        if let Some((site, reference)) = name.split_once(sep)
            && REFERENCES.contains(&reference.trim())
            && !site.is_empty()
        {
            return site.trim().trim_end_matches('.').to_string();
        }
    }
    name.trim_end_matches('.').to_string()
}

/// The index of `wanted` among `labels`: the label itself (case, spaces and trailing dots
/// aside), else the one channel whose 10-20 name is `wanted`'s.
pub fn find_channel(labels: &[String], wanted: &str) -> Option<usize> {
    let norm = |s: &str| s.trim().trim_end_matches('.').to_ascii_uppercase();
    let key = norm(wanted);
    if let Some(i) = labels.iter().position(|l| norm(l) == key) {
        return Some(i);
    }
    let site = ten_twenty_name(wanted);
    let mut matches = labels
        .iter()
        .enumerate()
        .filter(|(_, l)| ten_twenty_name(l) == site);
    let first = matches.next()?;
    // Two channels of the same site (say C3-A2 and C3-M1) leave the choice to the user.
    matches.next().is_none().then_some(first.0)
}

/// The first channel of `preferred` (10-20 names) that the stream has.
pub fn find_role(labels: &[String], preferred: &[&str]) -> Option<usize> {
    find_role_among(labels, &[], preferred)
}

/// [`find_role`] among the channels flagged in `eeg` (empty: all).
pub fn find_role_among(labels: &[String], eeg: &[bool], preferred: &[&str]) -> Option<usize> {
    let usable = |i: usize| eeg.get(i).is_none_or(|&e| e);
    preferred.iter().find_map(|name| {
        let site = name.to_ascii_uppercase();
        (0..labels.len()).find(|&i| usable(i) && ten_twenty_name(&labels[i]) == site)
    })
}

/// The channel a role falls back to when the stream has none of its names: the first EEG
/// channel (flagged in `eeg`, empty: all), else the first channel.
pub fn first_eeg(eeg: &[bool]) -> usize {
    eeg.iter().position(|&e| e).unwrap_or(0)
}

/// The labels of `labels` whose 10-20 name is one of `preferred`: the candidates an error
/// lists when a role's channel is missing.
pub fn role_candidates<'a>(labels: &'a [String], preferred: &[&str]) -> Vec<&'a str> {
    labels
        .iter()
        .filter(|l| {
            let site = ten_twenty_name(l);
            preferred.iter().any(|p| p.eq_ignore_ascii_case(&site))
        })
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn the_usual_spellings_of_a_site_share_its_name() {
        for (label, name) in [
            ("C3", "C3"),
            ("c3", "C3"),
            ("C3..", "C3"),
            ("Fc5.", "FC5"),
            ("C3-A2", "C3"),
            ("EEG C3-A2", "C3"),
            ("CZ-A1", "CZ"),
            ("Fz:M1", "FZ"),
            ("EEG Fpz-Cz", "FPZ"),
            ("ECG", "ECG"),
            ("EOG1-A1", "EOG1"),
            ("SaO2", "SAO2"),
        ] {
            assert_eq!(ten_twenty_name(label), name, "{label}");
        }
    }

    #[test]
    fn channels_are_found_by_label_then_by_site() {
        let dreams = labels(&["FP1-A1", "CZ-A1", "O1-A1", "ECG", "EOG1-A1"]);
        assert_eq!(find_channel(&dreams, "Cz"), Some(1));
        assert_eq!(find_channel(&dreams, "cz-a1"), Some(1));
        assert_eq!(find_channel(&dreams, "C3"), None);
        let mmidb = labels(&["Fc5.", "C3..", "Cz..", "C4.."]);
        assert_eq!(find_channel(&mmidb, "C3"), Some(1));
        // Two references of one site: ambiguous, so not guessed.
        let both = labels(&["C3-A2", "C3-M1"]);
        assert_eq!(find_channel(&both, "C3"), None);
        assert_eq!(find_channel(&both, "C3-M1"), Some(1));
    }

    #[test]
    fn roles_take_the_first_preferred_site_present() {
        let psg = labels(&["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental"]);
        assert_eq!(find_role(&psg, SO_CHANNELS), Some(0));
        assert_eq!(find_role(&psg, SPINDLE_CHANNELS), None);
        let dreams3 = labels(&["C3-A1", "O1-A1", "FP1-A1", "ECG", "SAO2"]);
        assert_eq!(find_role(&dreams3, SPINDLE_CHANNELS), Some(0));
        assert_eq!(find_role(&dreams3, SO_CHANNELS), Some(0));
        let cap = labels(&["Fz", "C3", "Cz", "C4", "Pz", "O1", "Oz", "O2"]);
        assert_eq!(find_role(&cap, SPINDLE_CHANNELS), Some(2));
        assert_eq!(find_role(&cap, SO_CHANNELS), Some(0));
        assert_eq!(
            role_candidates(&cap, SPINDLE_CHANNELS),
            vec!["C3", "Cz", "C4"]
        );
    }
}
