//! What decodes motor-imagery feedback: a model fitted from a calibration (`.json`) or a
//! network's model card (`.toml`, docs/models.md), with what the window needs of either.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use neuroloop_decoders::mi::MiModel;
use neuroloop_decoders::mi::net::MiNetConfig;
use neuroloop_decoders::onnx::ModelCard;
use neuroloop_offline::eval::chance::ChanceCheck;
use neuroloop_runtime::SessionDecoder;
use neuroloop_runtime::spec::{MiSpec, is_card};

/// A fitted model or a network card.
#[derive(Debug, Clone)]
pub enum FeedbackModel {
    /// Fitted from a calibration.
    Fitted(MiModel),
    /// A network run by ONNX Runtime.
    Network {
        /// Its card.
        card: PathBuf,
        /// The card's name.
        name: String,
        /// The card's `[mi]` table.
        config: MiNetConfig,
        /// The held-out accuracy the card claims and on how many trials
        /// (`[validation] accuracy_imagined`, `trials_imagined`), when it says.
        claimed: Option<(f64, usize)>,
    },
}

impl FeedbackModel {
    /// Reads a fitted model (`.json`) or a network card (`.toml`), checking a card against
    /// its graph (ONNX Runtime loads it once here, so a broken card fails before any window).
    pub fn load(path: &Path) -> anyhow::Result<FeedbackModel> {
        if !is_card(path) {
            return Ok(FeedbackModel::Fitted(MiModel::load(path)?));
        }
        let card = ModelCard::read(path)?;
        let Some(config) = card.mi.clone() else {
            anyhow::bail!(
                "the model card {} has no [mi] table, so it is not a motor-imagery network: give a motor-imagery card (docs/models.md) or a fitted model (.json)",
                path.display()
            );
        };
        neuroloop_decoders::mi::MiNet::load(&card)
            .with_context(|| format!("the motor-imagery network {} cannot run", path.display()))?;
        let claimed = card.validation_number("accuracy_imagined").zip(
            card.validation_number("trials_imagined")
                .map(|n| n as usize),
        );
        Ok(FeedbackModel::Network {
            card: path.to_path_buf(),
            name: card.name.clone(),
            config,
            claimed,
        })
    }

    /// Class names, in decision order.
    pub fn class_names(&self) -> &[String] {
        match self {
            FeedbackModel::Fitted(m) => &m.class_names,
            FeedbackModel::Network { config, .. } => &config.class_names,
        }
    }

    /// Where its windows start after a cue.
    pub fn cue_offset_secs(&self) -> f64 {
        match self {
            FeedbackModel::Fitted(m) => m.training.cue_offset_secs,
            FeedbackModel::Network { config, .. } => config.cue_offset_secs,
        }
    }

    /// Its window length.
    pub fn window_secs(&self) -> f64 {
        match self {
            FeedbackModel::Fitted(m) => m.protocol.window_secs,
            FeedbackModel::Network { config, .. } => config.window_secs,
        }
    }

    /// As reports name it: the fitted method (`csp-lda`) or `network NAME`.
    pub fn describe(&self) -> String {
        match self {
            FeedbackModel::Fitted(m) => m.method.name().to_string(),
            FeedbackModel::Network { name, .. } => format!("network {name}"),
        }
    }

    /// Its own accuracy against chance: a fitted model's cross-validated accuracy, a
    /// network's held-out accuracy as its card states it; `None` when it says nothing.
    pub fn check(&self) -> Option<ChanceCheck> {
        let classes = self.class_names().len();
        match self {
            FeedbackModel::Fitted(m) => {
                let accuracy = m.training.cross_validated_accuracy?;
                let n: usize = m.training.trials_per_class.iter().sum();
                (n > 0).then(|| ChanceCheck::of_accuracy(accuracy, n, classes))
            }
            FeedbackModel::Network { claimed, .. } => {
                let (accuracy, n) = (*claimed)?;
                (n > 0).then(|| ChanceCheck::of_accuracy(accuracy, n, classes))
            }
        }
    }

    /// What [`FeedbackModel::check`] measures, in words.
    pub fn accuracy_kind(&self) -> &'static str {
        match self {
            FeedbackModel::Fitted(_) => "cross-validated accuracy",
            FeedbackModel::Network { .. } => "held-out accuracy on its card",
        }
    }

    /// The feedback session's decoder, deciding every `step_secs`.
    pub fn decoder(&self, step_secs: f64) -> anyhow::Result<SessionDecoder> {
        Ok(match self {
            FeedbackModel::Fitted(m) => MiSpec {
                model: None,
                step_secs,
            }
            .decoder_for(m.clone())?,
            FeedbackModel::Network { card, .. } => MiSpec {
                model: Some(card.clone()),
                step_secs,
            }
            .decoder()?,
        })
    }
}
