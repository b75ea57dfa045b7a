//! The raw signal's panels of a session's window: per-channel quality verdicts and spectra,
//! drawn from the runtime's [`SignalMonitor`].

use neuroloop_runtime::monitor::{QualityFlag, SignalMonitor};

/// The display colour of a channel's verdict.
pub fn flag_color(flag: QualityFlag) -> egui::Color32 {
    match flag {
        QualityFlag::Waiting => egui::Color32::GRAY,
        QualityFlag::NonFinite => egui::Color32::from_rgb(170, 60, 200),
        QualityFlag::Flat => egui::Color32::from_rgb(220, 50, 50),
        QualityFlag::Clipping => egui::Color32::from_rgb(240, 130, 20),
        QualityFlag::LineNoise => egui::Color32::from_rgb(220, 190, 30),
        QualityFlag::Good => egui::Color32::from_rgb(40, 170, 70),
    }
}

/// Signal quality and spectra of the raw stream (before the front end), the mains line
/// ([`SignalMonitor::line_hz`]) marked. `live`: data is arriving (a lost stream's verdicts
/// are greyed out: they describe the last data, not the electrodes now).
pub fn monitor_panel(ui: &mut egui::Ui, m: &SignalMonitor, live: bool) {
    ui.label(format!(
        "raw signal (before the front end), last {} s: quality and spectra (Welch, 1-s segments)",
        SignalMonitor::WINDOW_SECS
    ));
    let max_hz = (m.rate_hz() / 2.0).min(100.0);
    let eeg = (0..m.labels().len()).filter(|&c| m.is_eeg(c)).count();
    if eeg <= LEGEND_CHANNELS {
        quality_ui(ui, m, live);
        spectra_ui(ui, m, m.line_hz(), max_hz);
        return;
    }
    // Side by side, so that a large montage's cells do not squeeze the spectra.
    ui.columns(2, |cols| {
        egui::ScrollArea::vertical()
            .id_salt("quality-scroll")
            .show(&mut cols[0], |ui| quality_ui(ui, m, live));
        spectra_ui(&mut cols[1], m, m.line_hz(), max_hz);
    });
}

/// The spectra of every EEG channel (log scale, µV²/Hz) up to `max_hz`, with the mains
/// frequency marked. Past 16 channels the legend (one row per channel) would cover the plot,
/// so channels are named on hover instead.
pub fn spectra_ui(ui: &mut egui::Ui, m: &SignalMonitor, line_hz: f64, max_hz: f64) {
    use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};
    let f = m.frequencies_hz();
    let eeg = (0..m.labels().len()).filter(|&c| m.is_eeg(c)).count();
    // Few enough marks to be labelled in a half-width plot (egui_plot names marks 60+
    // points apart).
    let step = if max_hz <= 30.0 {
        5.0
    } else if max_hz <= 60.0 {
        10.0
    } else {
        20.0
    };
    let mut plot = Plot::new("spectra")
        .allow_scroll(false)
        .x_grid_spacer(move |_| {
            (0..=((max_hz / step) as usize))
                .map(|i| egui_plot::GridMark {
                    value: i as f64 * step,
                    step_size: step,
                })
                .collect()
        })
        .x_axis_label("frequency (Hz)")
        .y_axis_label("log10 PSD (µV²/Hz)");
    if eeg <= LEGEND_CHANNELS {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |plot| {
        for (c, label) in m.labels().iter().enumerate().filter(|(c, _)| m.is_eeg(*c)) {
            let points: PlotPoints<'_> = f
                .iter()
                .zip(m.psd(c))
                .filter(|&(&hz, p)| hz > 0.0 && hz <= max_hz && *p > 0.0)
                .map(|(&hz, &p)| [hz, p.log10()])
                .collect();
            plot.line(Line::new(label.clone(), points));
        }
        if line_hz < max_hz {
            plot.vline(VLine::new(format!("mains {line_hz} Hz"), line_hz));
        }
    });
}

/// Most channels the spectra name in a legend.
const LEGEND_CHANNELS: usize = 16;

/// Width of one channel's quality cell, points: a 10-20 label (`FCz`, `AF7`) fits; longer
/// labels are cut and shown whole on hover.
const CELL_WIDTH: f32 = 40.0;

/// The verdicts counted (`62 good, 1 flat, 1 line noise`), then one small cell per EEG
/// channel in a grid, coloured by its verdict (hovering shows the verdict, the measures and
/// the fix), then the channels that are not EEG, named with their kind. With `live` false
/// (the stream is lost) every cell is grey and the line says the verdicts are stale.
pub fn quality_ui(ui: &mut egui::Ui, m: &SignalMonitor, live: bool) {
    let eeg: Vec<usize> = (0..m.labels().len()).filter(|&c| m.is_eeg(c)).collect();
    ui.label(verdict_counts(eeg.iter().map(|&c| m.flag(c)), live));
    let columns = ((ui.available_width() / (CELL_WIDTH + 4.0)) as usize).max(1);
    egui::Grid::new("quality-cells")
        .spacing([4.0, 4.0])
        .show(ui, |ui| {
            for (i, &c) in eeg.iter().enumerate() {
                cell_ui(ui, m, c, live);
                if (i + 1) % columns == 0 {
                    ui.end_row();
                }
            }
        });
    let others: Vec<String> = (0..m.labels().len())
        .filter(|&c| !m.is_eeg(c))
        .map(|c| format!("{} ({})", m.labels()[c], m.kind(c).name()))
        .collect();
    if !others.is_empty() {
        ui.label(
            egui::RichText::new(format!(
                "not EEG, kept apart (no quality verdict, spectrum or re-referencing; recorded as received): {}",
                others.join(", ")
            ))
            .weak(),
        );
    }
}

/// `n verdict` for each verdict present, most serious first; or why there is none now.
pub fn verdict_counts(flags: impl Iterator<Item = QualityFlag>, live: bool) -> String {
    if !live {
        return "stream lost: no current verdict (the cells show none until data arrives again)"
            .to_string();
    }
    let order = [
        QualityFlag::NonFinite,
        QualityFlag::Flat,
        QualityFlag::Clipping,
        QualityFlag::LineNoise,
        QualityFlag::Waiting,
        QualityFlag::Good,
    ];
    let mut counts = [0usize; 6];
    for f in flags {
        if let Some(i) = order.iter().position(|&o| o == f) {
            counts[i] += 1;
        }
    }
    let parts: Vec<String> = order
        .iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0)
        .map(|(f, n)| format!("{n} {}", f.label()))
        .collect();
    if parts.is_empty() {
        "no EEG channel".to_string()
    } else {
        format!("quality: {}", parts.join(", "))
    }
}

/// One channel's cell: its label on its verdict's colour (grey when not `live`).
fn cell_ui(ui: &mut egui::Ui, m: &SignalMonitor, c: usize, live: bool) {
    let label = &m.labels()[c];
    let flag = m.flag(c);
    let fill = if live {
        flag_color(flag)
    } else {
        egui::Color32::from_gray(90)
    };
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(CELL_WIDTH, 16.0), egui::Sense::hover());
    ui.painter().rect_filled(rect, 2.0, fill);
    let short: String = label.chars().take(6).collect();
    ui.painter().text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        short,
        egui::FontId::proportional(11.0),
        egui::Color32::BLACK,
    );
    let said = if live { flag.label() } else { "stream lost" };
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Label, true, format!("{label}: {said}"))
    });
    let q = m.quality()[c];
    let verdict = if live {
        format!("{}: {}\n{}", label, flag.label(), flag.fix())
    } else {
        format!("{label}: stream lost (last verdict: {})", flag.label())
    };
    response.on_hover_text(format!(
        "{verdict}\nstd {:.1} µV, peak-to-peak {:.1} µV, longest flat run {:.2} s, clipped {:.1} %, line/EEG power {}",
        q.std,
        q.peak_to_peak,
        q.longest_flat_secs,
        100.0 * q.clipped_fraction,
        q.line_noise_ratio
            .map_or("n/a".to_owned(), |r| format!("{r:.2}"))
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_verdicts_stand_out_from_good_channels() {
        for flag in [
            QualityFlag::Flat,
            QualityFlag::Clipping,
            QualityFlag::NonFinite,
            QualityFlag::LineNoise,
        ] {
            assert_ne!(flag_color(flag), flag_color(QualityFlag::Good), "{flag:?}");
        }
    }

    #[test]
    fn verdicts_are_counted_most_serious_first_and_a_lost_stream_has_none() {
        let flags = [
            QualityFlag::Good,
            QualityFlag::Flat,
            QualityFlag::Good,
            QualityFlag::LineNoise,
        ];
        assert_eq!(
            verdict_counts(flags.into_iter(), true),
            "quality: 1 flat, 1 line noise, 2 good"
        );
        assert!(verdict_counts(flags.into_iter(), false).starts_with("stream lost"));
        assert_eq!(verdict_counts([].into_iter(), true), "no EEG channel");
    }
}
