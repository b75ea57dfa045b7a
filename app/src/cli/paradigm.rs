//! From the command line's paradigm flags to the one paradigm spec the start screen also
//! produces (`neuroloop_runtime::spec`).

use anyhow::bail;
use neuroloop_runtime::spec::{
    FrontEndChoice, MiSpec, ParadigmSpec, SleepSpec, SpindleDetectorKind, SsvepMethod, SsvepSpec,
    StimOn,
};

use super::args::{
    FrontEndArgs, NotchArg, OnlineSsvepMethod, ParadigmArg, ParadigmArgs, SleepSettingsArgs,
    SpindleDetectorArg, StimOnArg,
};

/// The settings of each paradigm by argument id: given on the command line, one implies its
/// paradigm. `--targets` is left out: the demo's simulator flickers them whatever decodes.
const SSVEP_SETTINGS: &[&str] = &[
    "window_secs",
    "step_secs",
    "harmonics",
    "ssvep_method",
    "sub_bands",
    "ssvep_model",
    "trca_margin",
    "decode_channels",
];
const MI_SETTINGS: &[&str] = &["mi_model", "mi_step_secs"];
const SLEEP_SETTINGS: &[&str] = &[
    "spindles",
    "so_triggers",
    "spindle_channel",
    "spindle_detector",
    "spindle_model",
    "spindle_confirm_hops",
    "so_channel",
    "so_target_deg",
    "lookahead_ms",
    "stim_on",
    "volume",
    "volume_cap",
    "min_interval_secs",
    "max_per_min",
    "artifact_uv",
    "burst_ms",
];

/// The ids of the arguments given on the command line (not left at their defaults).
#[derive(Debug, Default, Clone)]
pub struct Given(std::collections::BTreeSet<String>);

impl Given {
    /// The arguments of `matches` given on the command line.
    pub fn of(matches: &clap::ArgMatches) -> Self {
        Given(
            matches
                .ids()
                .filter(|id| {
                    matches.value_source(id.as_str())
                        == Some(clap::parser::ValueSource::CommandLine)
                })
                .map(|id| id.as_str().to_string())
                .collect(),
        )
    }

    fn has(&self, id: &str) -> bool {
        self.0.contains(id)
    }
}

/// The command-line flag of an argument id (`window_secs` → `--window-secs`).
fn flag(id: &str) -> String {
    format!("--{}", id.replace('_', "-"))
}

impl ParadigmArgs {
    /// The paradigm the flags choose: `--paradigm`, else the one whose settings were `given`,
    /// else `default`. Settings of different paradigms together, or of another paradigm than
    /// `--paradigm`, are refused rather than ignored.
    pub fn chosen(&self, default: ParadigmArg, given: &Given) -> anyhow::Result<ParadigmArg> {
        let implied: Vec<(ParadigmArg, String)> = [
            (ParadigmArg::Ssvep, SSVEP_SETTINGS),
            (ParadigmArg::Mi, MI_SETTINGS),
            (ParadigmArg::Sleep, SLEEP_SETTINGS),
        ]
        .into_iter()
        .flat_map(|(p, ids)| {
            ids.iter()
                .filter(|id| given.has(id))
                .map(move |id| (p, flag(id)))
        })
        .collect();
        if let Some((first, one)) = implied.first()
            && let Some((_, other)) = implied.iter().find(|(p, _)| p != first)
        {
            bail!("{one} and {other} belong to different paradigms: give the settings of one");
        }
        match (self.paradigm, implied.first()) {
            (Some(p), Some((q, one))) if p != *q => bail!(
                "{one} belongs to --paradigm {}, not --paradigm {}: drop one of them",
                paradigm_name(*q),
                paradigm_name(p)
            ),
            (Some(p), _) => Ok(p),
            (None, Some((q, _))) => Ok(*q),
            (None, None) => Ok(default),
        }
    }

    /// The spec of the chosen paradigm (see [`ParadigmArgs::chosen`]).
    pub fn spec(&self, default: ParadigmArg, given: &Given) -> anyhow::Result<ParadigmSpec> {
        Ok(match self.chosen(default, given)? {
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
            detector: match (self.spindle_detector, &self.spindle_model) {
                (Some(SpindleDetectorArg::A7), _) | (None, None) => SpindleDetectorKind::A7,
                (Some(SpindleDetectorArg::Onnx), _) | (None, Some(_)) => SpindleDetectorKind::Net,
            },
            spindle_model: self.spindle_model.clone(),
            spindle_channel: self.spindle_channel.clone(),
            spindle_confirm_hops: usize::from(self.spindle_confirm_hops),
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
            notch_hz: match self.notch_hz {
                Some(NotchArg::Hz(hz)) => Some(hz),
                Some(NotchArg::Auto) | None => None,
            },
            common_average: self.car,
        }
    }

    /// Whether the notch follows the source's mains (the default).
    pub fn mains_auto(&self) -> bool {
        !matches!(self.notch_hz, Some(NotchArg::Hz(_)))
    }
}
