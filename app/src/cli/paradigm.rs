//! From the command line's paradigm flags to the one paradigm spec the start screen also
//! produces (`neuroloop_runtime::spec`).

use anyhow::bail;
use neuroloop_runtime::spec::{
    FrontEndChoice, MiSpec, ParadigmSpec, SleepSpec, SpindleDetectorKind, SsvepMethod, SsvepSpec,
    StimOn,
};

use super::args::{
    FrontEndArgs, OnlineSsvepMethod, ParadigmArg, ParadigmArgs, SleepSettingsArgs,
    SpindleDetectorArg, StimOnArg,
};

impl ParadigmArgs {
    /// The paradigm the flags choose: `--paradigm`, else the one a paradigm's own flag
    /// implies, else `default`. Flags of different paradigms together are refused.
    pub fn chosen(&self, default: ParadigmArg) -> anyhow::Result<ParadigmArg> {
        let mut implied: Vec<(ParadigmArg, &str)> = Vec::new();
        if self.ssvep.ssvep_method.is_some() {
            implied.push((ParadigmArg::Ssvep, "--ssvep-method"));
        }
        if self.ssvep.ssvep_model.is_some() {
            implied.push((ParadigmArg::Ssvep, "--ssvep-model"));
        }
        if self.mi.mi_model.is_some() {
            implied.push((ParadigmArg::Mi, "--mi-model"));
        }
        if self.sleep.spindles {
            implied.push((ParadigmArg::Sleep, "--spindles"));
        }
        if self.sleep.so_triggers {
            implied.push((ParadigmArg::Sleep, "--so-triggers"));
        }
        if let Some((first, flag)) = implied.first()
            && let Some((_, other)) = implied.iter().find(|(p, _)| p != first)
        {
            bail!("{flag} and {other} choose different paradigms: give the flags of one");
        }
        match (self.paradigm, implied.first()) {
            (Some(p), Some((q, flag))) if p != *q => bail!(
                "{flag} belongs to --paradigm {}, not --paradigm {}: drop one of them",
                paradigm_name(*q),
                paradigm_name(p)
            ),
            (Some(p), _) => Ok(p),
            (None, Some((q, _))) => Ok(*q),
            (None, None) => Ok(default),
        }
    }

    /// The spec of the chosen paradigm (see [`ParadigmArgs::chosen`]).
    pub fn spec(&self, default: ParadigmArg) -> anyhow::Result<ParadigmSpec> {
        Ok(match self.chosen(default)? {
            ParadigmArg::Monitor => ParadigmSpec::Monitor,
            ParadigmArg::Ssvep => ParadigmSpec::Ssvep(self.ssvep_spec()),
            ParadigmArg::Mi => ParadigmSpec::Mi(MiSpec {
                model: self.mi.mi_model.clone(),
                step_secs: self.mi.mi_step_secs,
            }),
            ParadigmArg::Sleep => ParadigmSpec::Sleep(self.sleep_spec()),
        })
    }

    fn ssvep_spec(&self) -> SsvepSpec {
        let a = &self.ssvep;
        let defaults = SsvepSpec::default();
        SsvepSpec {
            method: match a.ssvep_method {
                Some(OnlineSsvepMethod::Cca) => SsvepMethod::Cca,
                Some(OnlineSsvepMethod::Fbcca) => SsvepMethod::Fbcca,
                None => defaults.method,
            },
            targets_hz: a.targets.clone(),
            window_secs: a.window_secs,
            step_secs: a.step_secs,
            harmonics: a.harmonics,
            sub_bands: a.sub_bands,
            model: a.ssvep_model.clone(),
            model_margin: a.trca_margin,
            channels: a.decode_channels.clone(),
            ..defaults
        }
    }

    /// The sleep spec: `--spindles` / `--so-triggers` pick the detectors and leave
    /// stimulation off unless `--stim-on` says otherwise.
    fn sleep_spec(&self) -> SleepSpec {
        let s = &self.sleep;
        let mut spec = s.settings.spec();
        if s.spindles || s.so_triggers {
            spec.spindles = s.spindles;
            spec.slow_oscillations = s.so_triggers;
            if s.settings.stim_on.is_none() {
                spec.stim_on = StimOn::None;
            }
        }
        spec
    }
}

/// The command-line name of a paradigm.
pub fn paradigm_name(p: ParadigmArg) -> &'static str {
    match p {
        ParadigmArg::Monitor => "monitor",
        ParadigmArg::Ssvep => "ssvep",
        ParadigmArg::Mi => "mi",
        ParadigmArg::Sleep => "sleep",
    }
}

impl SleepSettingsArgs {
    /// The sleep spec these settings describe (both detectors).
    pub fn spec(&self) -> SleepSpec {
        SleepSpec {
            detector: match self.spindle_detector {
                SpindleDetectorArg::A7 => SpindleDetectorKind::A7,
                SpindleDetectorArg::Onnx => SpindleDetectorKind::Net,
            },
            spindle_model: self.spindle_model.clone(),
            spindle_channel: self.spindle_channel.clone(),
            so_channel: self.so_channel.clone(),
            so_target_deg: self.so_target_deg,
            lookahead_ms: self.lookahead_ms,
            stim_on: match self.stim_on {
                Some(StimOnArg::So) => StimOn::So,
                Some(StimOnArg::Spindle) => StimOn::Spindle,
                Some(StimOnArg::None) => StimOn::None,
                None => SleepSpec::default().stim_on,
            },
            volume: self.volume,
            volume_cap: self.volume_cap,
            min_interval_secs: self.min_interval_secs,
            max_per_min: self.max_per_min,
            artifact_uv: self.artifact_uv,
            burst_ms: self.burst_ms,
            ..SleepSpec::default()
        }
    }
}

impl FrontEndArgs {
    /// The filters the flags set (the paradigm's default for those left out).
    pub fn choice(&self) -> FrontEndChoice {
        FrontEndChoice {
            highpass_hz: self.highpass_hz,
            notch_hz: self.notch_hz,
            common_average: self.car,
        }
    }
}
