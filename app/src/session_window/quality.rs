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
/// ([`SignalMonitor::line_hz`]) marked.
pub fn monitor_panel(ui: &mut egui::Ui, m: &SignalMonitor) {
    ui.label(format!(
        "raw signal (before the front end), last {} s: quality and spectra (Welch, 1-s segments)",
        SignalMonitor::WINDOW_SECS
    ));
    quality_ui(ui, m);
    spectra_ui(ui, m, m.line_hz(), (m.rate_hz() / 2.0).min(100.0));
}

/// The spectra of every EEG channel (log scale, µV²/Hz) up to `max_hz`, with the mains
/// frequency marked.
pub fn spectra_ui(ui: &mut egui::Ui, m: &SignalMonitor, line_hz: f64, max_hz: f64) {
    use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};
    let f = m.frequencies_hz();
    Plot::new("spectra")
        .legend(Legend::default())
        .allow_scroll(false)
        .x_axis_label("Hz")
        .y_axis_label("log10 PSD (µV²/Hz)")
        .show(ui, |plot| {
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

/// One coloured cell per EEG channel with its verdict (hovering shows the measures and the
/// fix), then the channels that are not EEG, named with their kind.
pub fn quality_ui(ui: &mut egui::Ui, m: &SignalMonitor) {
    let others: Vec<String> = (0..m.labels().len())
        .filter(|&c| !m.is_eeg(c))
        .map(|c| format!("{} ({})", m.labels()[c], m.kind(c).name()))
        .collect();
    ui.horizontal_wrapped(|ui| {
        for (c, label) in m.labels().iter().enumerate().filter(|(c, _)| m.is_eeg(*c)) {
            let flag = m.flag(c);
            let q = m.quality()[c];
            let text = egui::RichText::new(format!("{label}: {}", flag.label()))
                .color(egui::Color32::BLACK)
                .background_color(flag_color(flag));
            ui.label(text).on_hover_text(format!(
                "{}\nstd {:.1}, peak-to-peak {:.1}, longest flat run {:.2} s, clipped {:.1} %, line/EEG power {}",
                flag.fix(),
                q.std,
                q.peak_to_peak,
                q.longest_flat_secs,
                100.0 * q.clipped_fraction,
                q.line_noise_ratio
                    .map_or("n/a".to_owned(), |r| format!("{r:.2}"))
            ));
        }
    });
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
}
