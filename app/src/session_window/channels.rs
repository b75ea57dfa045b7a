//! Which channels the traces show, for montages from 8 to 128 channels: channels grouped by
//! scalp region (from their 10-20 names) and by hemisphere, each group or channel switched on
//! or off, and the shown channels drawn a page at a time so that every row keeps its label.

use neuroloop_decoders::roles::ten_twenty_name;

/// Scalp regions of the 10-20/10-10 system, front to back.
pub const REGIONS: [Region; 6] = [
    Region::Frontal,
    Region::FrontoCentral,
    Region::CentralTemporal,
    Region::CentroParietal,
    Region::Parietal,
    Region::Occipital,
];

/// A scalp region, from the letters of a 10-20 name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Fp, AF, F.
    Frontal,
    /// FC, FT.
    FrontoCentral,
    /// C, T.
    CentralTemporal,
    /// CP, TP.
    CentroParietal,
    /// P.
    Parietal,
    /// PO, O, I.
    Occipital,
}

impl Region {
    /// The region's name on screen.
    pub fn name(self) -> &'static str {
        match self {
            Region::Frontal => "frontal",
            Region::FrontoCentral => "fronto-central",
            Region::CentralTemporal => "central, temporal",
            Region::CentroParietal => "centro-parietal",
            Region::Parietal => "parietal",
            Region::Occipital => "occipital",
        }
    }

    /// The region of a channel label (`Fc5.` → fronto-central, `EEG C3-A2` → central), `None`
    /// for a label that is not a 10-20/10-10 site (`E12`, `ECG`).
    pub fn of(label: &str) -> Option<Region> {
        let (letters, _) = site(label)?;
        Some(match letters.as_str() {
            "FP" | "AF" | "F" => Region::Frontal,
            "FC" | "FT" => Region::FrontoCentral,
            "C" | "T" => Region::CentralTemporal,
            "CP" | "TP" => Region::CentroParietal,
            "P" => Region::Parietal,
            "PO" | "O" | "I" | "OI" => Region::Occipital,
            _ => return None,
        })
    }
}

/// A side of the head, from the number of a 10-20 name (odd left, even right, `z` midline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Odd numbers.
    Left,
    /// `z`.
    Midline,
    /// Even numbers.
    Right,
}

/// The sides, left to right.
pub const SIDES: [Side; 3] = [Side::Left, Side::Midline, Side::Right];

impl Side {
    /// The side's name on screen.
    pub fn name(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Midline => "midline",
            Side::Right => "right",
        }
    }

    /// The side of a channel label, `None` for a label that is not a 10-20/10-10 site.
    pub fn of(label: &str) -> Option<Side> {
        let (_, number) = site(label)?;
        Some(match number {
            None => Side::Midline,
            Some(n) if n % 2 == 1 => Side::Left,
            Some(_) => Side::Right,
        })
    }
}

/// A 10-20/10-10 site's letters (upper case) and number (`None` for `z`).
fn site(label: &str) -> Option<(String, Option<u32>)> {
    let name = ten_twenty_name(label);
    let letters: String = name.chars().take_while(char::is_ascii_alphabetic).collect();
    let rest = &name[letters.len()..];
    if let Some(stripped) = letters.strip_suffix('Z')
        && rest.is_empty()
        && !stripped.is_empty()
    {
        return Some((stripped.to_string(), None));
    }
    let number: u32 = rest.parse().ok()?;
    (!letters.is_empty() && (1..=12).contains(&number)).then_some((letters, Some(number)))
}

/// Rows of the traces: the `page`-th run of `per_page` channels among those `visible`
/// (clamped to the last page), with the number of pages.
pub fn page_rows(visible: &[bool], per_page: usize, page: usize) -> (Vec<usize>, usize) {
    let shown: Vec<usize> = (0..visible.len()).filter(|&c| visible[c]).collect();
    let per_page = per_page.max(1);
    let pages = shown.len().div_ceil(per_page).max(1);
    let page = page.min(pages - 1);
    let rows = shown
        .into_iter()
        .skip(page * per_page)
        .take(per_page)
        .collect();
    (rows, pages)
}

/// The channel menu's contents: all or no EEG, each region and side as a group, then every
/// channel; `eeg[c]` says which are EEG (the others are listed apart). Returns whether the
/// selection changed.
pub fn channels_menu(
    ui: &mut egui::Ui,
    labels: &[String],
    eeg: &[bool],
    visible: &mut [bool],
) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        if ui.button("all EEG").clicked() {
            for (v, &e) in visible.iter_mut().zip(eeg) {
                *v = e;
            }
            changed = true;
        }
        if ui.button("none").clicked() {
            visible.iter_mut().for_each(|v| *v = false);
            changed = true;
        }
    });
    let mut group = |ui: &mut egui::Ui, name: &str, member: &dyn Fn(&str) -> bool| {
        let members: Vec<usize> = (0..labels.len())
            .filter(|&c| eeg[c] && member(&labels[c]))
            .collect();
        if members.is_empty() {
            return;
        }
        let mut on = members.iter().all(|&c| visible[c]);
        if ui
            .checkbox(&mut on, format!("{name} ({})", members.len()))
            .changed()
        {
            for c in members {
                visible[c] = on;
            }
            changed = true;
        }
    };
    ui.label("regions");
    ui.horizontal_wrapped(|ui| {
        for r in REGIONS {
            group(ui, r.name(), &|l| Region::of(l) == Some(r));
        }
    });
    ui.horizontal(|ui| {
        for s in SIDES {
            group(ui, s.name(), &|l| Side::of(l) == Some(s));
        }
    });
    ui.separator();
    egui::ScrollArea::vertical()
        .max_height(320.0)
        .show(ui, |ui| {
            egui::Grid::new("channel-checkboxes").show(ui, |ui| {
                for (i, c) in (0..labels.len()).filter(|&c| eeg[c]).enumerate() {
                    changed |= ui.checkbox(&mut visible[c], &labels[c]).changed();
                    if i % 8 == 7 {
                        ui.end_row();
                    }
                }
            });
            let others: Vec<usize> = (0..labels.len()).filter(|&c| !eeg[c]).collect();
            if !others.is_empty() {
                ui.separator();
                ui.label("not EEG");
                ui.horizontal_wrapped(|ui| {
                    for c in others {
                        changed |= ui.checkbox(&mut visible[c], &labels[c]).changed();
                    }
                });
            }
        });
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_sides_come_from_the_ten_twenty_name() {
        assert_eq!(Region::of("Fc5."), Some(Region::FrontoCentral));
        assert_eq!(Region::of("EEG C3-A2"), Some(Region::CentralTemporal));
        assert_eq!(Region::of("Fp1"), Some(Region::Frontal));
        assert_eq!(Region::of("POz"), Some(Region::Occipital));
        assert_eq!(Region::of("Iz"), Some(Region::Occipital));
        assert_eq!(Region::of("Tp8"), Some(Region::CentroParietal));
        assert_eq!(Region::of("ECG"), None);
        assert_eq!(Region::of("E12"), None);
        assert_eq!(Side::of("Fc5."), Some(Side::Left));
        assert_eq!(Side::of("C4-M1"), Some(Side::Right));
        assert_eq!(Side::of("Cz"), Some(Side::Midline));
        assert_eq!(Side::of("T10"), Some(Side::Right));
        assert_eq!(Side::of("EOG"), None);
        assert_eq!(Side::of("Z"), None);
    }

    #[test]
    fn pages_cover_the_visible_channels_in_order() {
        let mut visible = vec![true; 64];
        visible[3] = false;
        let (rows, pages) = page_rows(&visible, 16, 0);
        assert_eq!(pages, 4);
        assert_eq!(rows.len(), 16);
        assert!(!rows.contains(&3));
        let (last, _) = page_rows(&visible, 16, 3);
        assert_eq!(last.len(), 63 - 48);
        assert_eq!(last.last(), Some(&63));
        // A page past the end shows the last one.
        assert_eq!(page_rows(&visible, 16, 9).0, last);
        assert_eq!(page_rows(&[false; 4], 16, 0), (vec![], 1));
    }
}
