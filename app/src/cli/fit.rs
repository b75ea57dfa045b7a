//! `neuroloop ssvep fit` and `neuroloop mi fit`: calibration models from recordings
//! (`neuroloop_offline::calibration`).

use anyhow::bail;
use neuroloop_decoders::mi::MiMethod;
use neuroloop_offline::calibration::imagery::{CalibrationCut, FitOutcome, fit_best, trial_counts};

use super::args::{MiFitArgs, MiFitOptions, MiMethodArg, SsvepFitArgs};

impl MiFitOptions {
    pub(super) fn cut(&self) -> CalibrationCut {
        CalibrationCut {
            channels: self.channels.clone(),
            band_hz: (self.band_hz[0], self.band_hz[1]),
            window_secs: self.window_secs,
            cue_offset_secs: self.cue_offset_secs,
            sub_bands: Vec::new(),
            cues: Vec::new(),
        }
    }

    pub(super) fn methods(&self) -> Vec<MiMethod> {
        self.method.iter().map(|&m| m.into()).collect()
    }
}

impl From<MiMethodArg> for MiMethod {
    fn from(m: MiMethodArg) -> MiMethod {
        match m {
            MiMethodArg::CspLda => MiMethod::CspLda,
            MiMethodArg::TsLr => MiMethod::TsLr,
            MiMethodArg::Mdm => MiMethod::Mdm,
            MiMethodArg::FbcspLda => MiMethod::FbcspLda,
        }
    }
}

/// `neuroloop ssvep fit`.
pub(super) fn ssvep_fit(args: &SsvepFitArgs) -> anyhow::Result<()> {
    use neuroloop_decoders::ssvep::onset::TrcaFitConfig;
    let cfg = TrcaFitConfig {
        windows_secs: args.windows_secs.clone(),
        latency_secs: args.latency_secs,
        ensemble: !args.plain,
        ..TrcaFitConfig::default()
    };
    let cues = neuroloop_acquisition::FileCues {
        ssvep: args.cues.clone(),
        onsets: args.onsets.clone(),
        ..Default::default()
    };
    let model = neuroloop_offline::calibration::ssvep::fit_recordings(
        &args.recordings,
        &args.channels,
        &cues,
        &cfg,
    )?;
    println!(
        "{} targets ({:?} Hz), channels {}, {} calibration trials per target (min), {}",
        model.targets_hz.len(),
        model.targets_hz,
        model.channels.join(","),
        model.trials_per_class.iter().min().unwrap_or(&0),
        if model.ensemble {
            "ensemble TRCA"
        } else {
            "TRCA"
        }
    );
    println!("window   cross-validated accuracy (5 folds)");
    for cp in &model.checkpoints {
        println!(
            "{:>5.2} s  {}",
            cp.window_secs,
            cp.cv_accuracy.map_or_else(
                || "- (too few trials)".to_string(),
                |a| format!("{:.1} %", 100.0 * a)
            )
        );
    }
    match neuroloop_offline::calibration::ssvep::model_check(&model) {
        Some((window, check)) if !check.above_chance() && !args.force => bail!(
            "the model is not saved: at {window} s it decodes {}, not shown above chance, so a speller would type at random. Record more calibration blocks (every key cued more times), check the occipital electrodes, or pass --force to save it anyway",
            check.describe()
        ),
        Some((window, check)) if !check.above_chance() => println!(
            "warning: at {window} s the model decodes {}, not shown above chance (saved because of --force)",
            check.describe()
        ),
        Some((window, check)) => println!("at {window} s: {}", check.describe()),
        None => println!("accuracy not estimated: too few trials per target"),
    }
    model.save(&args.out)?;
    println!("saved {}", args.out.display());
    Ok(())
}

/// `neuroloop mi fit`.
pub(super) fn mi_fit(args: &MiFitArgs) -> anyhow::Result<()> {
    let cut = CalibrationCut {
        cues: args.cues.clone(),
        ..args.fit.cut()
    };
    let FitOutcome {
        model,
        evaluations,
        skipped,
        trials: data,
    } = fit_best(&args.recordings, &cut, &args.fit.methods())?;
    println!(
        "{} trials ({}) from {}; {} channels at {} Hz, {}-{} Hz, window {}-{} s after the cue",
        data.labels.len(),
        trial_counts(&data),
        data.source,
        data.protocol.channels.len(),
        data.protocol.sample_rate_hz,
        cut.band_hz.0,
        cut.band_hz.1,
        cut.cue_offset_secs,
        cut.cue_offset_secs + cut.window_secs
    );
    if args.fit.methods().iter().any(|m| m.uses_filter_bank()) {
        println!(
            "fbcsp-lda reads the same windows band-passed into {:?} Hz instead",
            data.protocol.for_method(MiMethod::FbcspLda).sub_bands
        );
    }
    for (m, why) in &skipped {
        println!("{:<9} not fitted: {why}", m.name());
    }
    for r in &evaluations {
        println!(
            "{:<9} cross-validated accuracy {:>5.1} %  kappa {:.3}",
            r.method.name(),
            100.0 * r.accuracy,
            r.kappa
        );
    }
    let method = model.method;
    model.save(&args.out)?;
    println!(
        "saved {} fitted on all {} trials to {}",
        method.name(),
        data.labels.len(),
        args.out.display()
    );
    Ok(())
}
