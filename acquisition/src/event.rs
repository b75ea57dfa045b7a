//! Events that travel beside the samples: stream health (gaps, loss, reconnection) and the
//! simulator's ground truth.
//!
//! Every event is `Copy` and fixed-size so that it can cross the lock-free ring between the
//! acquisition thread and the worker without allocating.

/// Which motor-imagery class a simulated (or cued) trial asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MiClass {
    /// Imagined left-hand movement: event-related desynchronisation over C4.
    LeftHand,
    /// Imagined right-hand movement: event-related desynchronisation over C3.
    RightHand,
    /// Imagined feet movement: desynchronisation over Cz.
    Feet,
    /// No imagery.
    Rest,
}

impl MiClass {
    /// All classes in their canonical order (the index used in decisions).
    pub const ALL: [MiClass; 4] = [
        MiClass::LeftHand,
        MiClass::RightHand,
        MiClass::Feet,
        MiClass::Rest,
    ];

    /// Short lower-case name used in markers and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            MiClass::LeftHand => "left_hand",
            MiClass::RightHand => "right_hand",
            MiClass::Feet => "feet",
            MiClass::Rest => "rest",
        }
    }

    /// Parses [`MiClass::name`] back.
    pub fn from_name(name: &str) -> Option<MiClass> {
        MiClass::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// The value of `key` in a motor-imagery marker, `<prefix>/mi key=value …` (the paradigm's
/// `cue/mi class=left_hand trial=3 duration_s=4`, the simulator's `truth/mi class=feet
/// duration_s=4`); `None` when the text is no such marker or has no `key`.
pub fn mi_marker_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    marker_field(text, "/mi", key)
}

/// The value of `key` in an SSVEP marker, `<prefix>/ssvep key=value …` (the simulator's
/// `truth/ssvep target=0 freq_hz=13 duration_s=5`); `None` when the text is no such marker or
/// has no `key`.
pub fn ssvep_marker_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    marker_field(text, "/ssvep", key)
}

fn marker_field<'a>(text: &'a str, paradigm: &str, key: &str) -> Option<&'a str> {
    let (head, rest) = text.split_once(' ')?;
    if !head.ends_with(paradigm) {
        return None;
    }
    field_value(rest, key)
}

/// The value of `key` among the whitespace-separated `key=value` fields of `fields`.
pub(crate) fn field_value<'a>(fields: &'a str, key: &str) -> Option<&'a str> {
    fields
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// Whether a marker text reports a stimulus onset: the speller's `speller stim-on` or the
/// simulator's SSVEP ground truth (`…truth/ssvep …`).
pub fn is_onset_marker(text: &str) -> bool {
    text.starts_with("speller stim-on") || text.contains("truth/ssvep ")
}

/// What happened, according to the simulator (the ground truth decoders are scored against).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TruthKind {
    /// An SSVEP trial: the user attends target `index` flickering at `freq_hz`.
    SsvepTarget {
        /// Index of the target in the scenario's target list
        /// ([`TruthKind::NO_TARGET_INDEX`] when a recording names only the frequency).
        index: u16,
        /// Flicker frequency of the attended target.
        freq_hz: f32,
    },
    /// A motor-imagery trial of the given class.
    MotorImagery {
        /// The imagined movement.
        class: MiClass,
    },
    /// A sleep spindle burst.
    Spindle {
        /// Oscillation frequency of the burst.
        freq_hz: f32,
        /// Peak amplitude on the strongest channel.
        amplitude_uv: f32,
    },
    /// One slow oscillation: a down-state followed by an up-state.
    SlowOscillation {
        /// Frequency of the oscillation (one period lasts `1 / freq_hz`).
        freq_hz: f32,
        /// LSL time of the up-state peak (phase 0 of the cosine convention).
        up_state_peak: f64,
    },
}

impl TruthKind {
    /// The [`TruthKind::SsvepTarget::index`] of a trial a recording cues by frequency alone
    /// (its position in a decoder's target list is not known to the source).
    pub const NO_TARGET_INDEX: u16 = u16::MAX;
}

/// A ground-truth interval: `kind` was present from `onset` for `duration_secs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruthEvent {
    /// LSL time of the first sample of the interval.
    pub onset: f64,
    /// Length of the interval.
    pub duration_secs: f64,
    /// What the interval contains.
    pub kind: TruthKind,
}

/// An event produced by a source alongside its samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SourceEvent {
    /// Samples are missing before the sample stamped `at` (the stream paused or dropped data).
    Gap {
        /// LSL time of the first sample after the gap.
        at: f64,
        /// How long the hole is, in seconds.
        missing_secs: f64,
    },
    /// No sample arrived for longer than the stall timeout: the stream is considered lost.
    StreamLost {
        /// LSL time at which the loss was declared.
        at: f64,
    },
    /// Samples flow again after [`SourceEvent::StreamLost`].
    Reconnected {
        /// LSL time of the first sample after the reconnection.
        at: f64,
    },
    /// A replay was moved to another place in its file (the user's seek): the samples from the
    /// one stamped `at` on continue from file time `to_secs`, not from `from_secs`.
    Jump {
        /// LSL time of the first sample at the new place.
        at: f64,
        /// File time the replay was at, s.
        from_secs: f64,
        /// File time it continues from, s.
        to_secs: f64,
    },
    /// Ground truth: the simulator's, or a trial a recording or marker stream cues.
    Truth(TruthEvent),
    /// A stimulus started at `at`: an onset marker of a live marker stream (onset-locked
    /// decoders start a trial there).
    Onset {
        /// LSL time of the onset.
        at: f64,
    },
    /// An annotation or marker stored in a replayed file, at the sample stamped `at`. The text
    /// is entry `index` of the source's [`crate::Source::annotation_texts`].
    Annotation {
        /// LSL time of the annotation's onset.
        at: f64,
        /// Index into the source's annotation texts.
        index: u32,
    },
}

impl SourceEvent {
    /// The LSL time the event refers to.
    pub fn time(&self) -> f64 {
        match *self {
            SourceEvent::Gap { at, .. }
            | SourceEvent::Jump { at, .. }
            | SourceEvent::StreamLost { at }
            | SourceEvent::Reconnected { at }
            | SourceEvent::Onset { at }
            | SourceEvent::Annotation { at, .. } => at,
            SourceEvent::Truth(t) => t.onset,
        }
    }
}
