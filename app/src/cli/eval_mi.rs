//! `neuroloop eval mi`: the motor-imagery methods on EEGMMIDB subjects, each subject
//! cross-validated on its own trials beside pyRiemann's numbers, the means over subjects, and
//! with two subjects or more the calibration-light scores, leave one subject out
//! (`neuroloop_offline::eval::mi_subjects`).

use std::path::Path;

use anyhow::bail;
use neuroloop_decoders::mi::MiMethod;
use neuroloop_offline::eval::mi::{CUE_OFFSET_SECS, FOLDS, MethodTrials, MiTrials, fit_all};
use neuroloop_offline::eval::mi_subjects::{
    ALIGNMENT_TRIALS, AUTO, MeanRow, MiScoreRow, Subject, TransferMean, TransferScore,
    calibration_light, load_subject, means, score_subject, subject_folders, transfer_means,
};
use serde::Serialize;

use super::args::{EvalMiArgs, EvalMiMethod};

impl EvalMiMethod {
    /// The fitted method, or `None` for `auto` and the network.
    fn fitted(self) -> Option<MiMethod> {
        match self {
            EvalMiMethod::CspLda => Some(MiMethod::CspLda),
            EvalMiMethod::TsLr => Some(MiMethod::TsLr),
            EvalMiMethod::Mdm => Some(MiMethod::Mdm),
            EvalMiMethod::FbcspLda => Some(MiMethod::FbcspLda),
            EvalMiMethod::Auto | EvalMiMethod::Onnx => None,
        }
    }
}

/// Everything `eval mi` measured, as `--json` prints it.
#[derive(Serialize)]
struct MiReport {
    dataset: &'static str,
    protocol: String,
    subjects: Vec<SubjectInfo>,
    /// One row per subject and method.
    scores: Vec<MiScoreRow>,
    /// Per method, over the subjects.
    means: Vec<MeanRow>,
    /// Leave one subject out, with two subjects or more.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    calibration_light: Vec<TransferScore>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    calibration_light_means: Vec<TransferMean>,
    /// The network's own leave-one-subject-out figures on the calibration-light trials, as
    /// its card states them (its trainer measured them; they are not recomputed here).
    #[serde(skip_serializing_if = "Option::is_none")]
    network_calibration_light: Option<NetworkLoso>,
}

/// A network card's nested leave-one-subject-out accuracies on each subject's trials after the
/// first [`ALIGNMENT_TRIALS`] (`[validation] accuracy_nested_loso_after_alignment_trials`,
/// in the order of `training_subjects`).
#[derive(Serialize, Clone)]
struct NetworkLoso {
    model: String,
    subjects: Vec<String>,
    accuracies: Vec<f64>,
}

impl NetworkLoso {
    fn of(card: &neuroloop_decoders::onnx::ModelCard) -> Option<NetworkLoso> {
        let list = |key: &str| card.validation.get(key)?.as_array().cloned();
        let subjects: Vec<String> = list("training_subjects")?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()?;
        let accuracies: Vec<f64> = list("accuracy_nested_loso_after_alignment_trials")?
            .iter()
            .map(toml::Value::as_float)
            .collect::<Option<_>>()?;
        (subjects.len() == accuracies.len()).then(|| NetworkLoso {
            model: card.name.clone(),
            subjects,
            accuracies,
        })
    }

    /// Its accuracy on `subject`.
    fn on(&self, subject: &str) -> Option<f64> {
        let i = self.subjects.iter().position(|s| s == subject)?;
        Some(self.accuracies[i])
    }
}

#[derive(Serialize)]
struct SubjectInfo {
    name: String,
    source: String,
    trials: usize,
    left: usize,
}

/// `neuroloop eval mi`.
pub(super) fn eval_mi(args: &EvalMiArgs) -> anyhow::Result<()> {
    let subjects = subject_folders(&args.eegmmidb)?;
    let names = || {
        subjects
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if subjects.len() > 1 && (args.dump_features.is_some() || args.save_model.is_some()) {
        bail!(
            "--dump-features and --save-model work on one subject, but {} subjects were found ({}): pass one subject's folder",
            subjects.len(),
            names()
        );
    }
    if let Some(out) = &args.dump_features {
        return dump_mi(&subjects[0].dir, out);
    }
    let fitted: Vec<MiMethod> = args.method.iter().filter_map(|m| m.fitted()).collect();
    let auto = args.method.contains(&EvalMiMethod::Auto);
    let mut net = if args.method.contains(&EvalMiMethod::Onnx) {
        match load_net(args) {
            Ok(n) => Some(n),
            // Beside other methods, a network that cannot run here (no ONNX Runtime) is
            // reported, not fatal.
            Err(e) if args.method.len() > 1 => {
                eprintln!("onnx skipped: {}", crate::errors::error_text(&e));
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let mut report = MiReport {
        dataset: "EEGMMIDB imagined left vs right fist (runs 4, 8, 12)",
        protocol: String::new(),
        subjects: Vec::new(),
        scores: Vec::new(),
        means: Vec::new(),
        calibration_light: Vec::new(),
        calibration_light_means: Vec::new(),
        network_calibration_light: None,
    };
    let mut singles: Vec<(String, MiTrials)> = Vec::new();
    for subject in &subjects {
        let trials = load_subject(subject, &fitted, auto)?;
        let rows = score_subject(subject, &trials, &fitted, auto)?;
        if let Some(path) = &args.save_model {
            save_best_mi(&trials, &rows, path, args.json)?;
        }
        report.scores.extend(rows);
        if let Some(CardNet {
            net: n,
            claimed,
            influenced,
            ..
        }) = net.as_mut()
        {
            match neuroloop_offline::eval::mi::evaluate_mi_net(&subject.dir, n, *claimed) {
                Ok(r) => {
                    let mut row = MiScoreRow::of_network(&subject.name, r);
                    let runs = format!("EEGMMIDB {}R", subject.name);
                    row.influenced = Some(influenced.iter().any(|r| r.starts_with(&runs)));
                    report.scores.push(row);
                }
                Err(e) if args.method.len() > 1 => eprintln!(
                    "onnx skipped on {}: {}",
                    subject.name,
                    crate::errors::error_text(&e.into())
                ),
                Err(e) => return Err(e.into()),
            }
        }
        report.subjects.push(subject_info(subject, &trials.single));
        if report.protocol.is_empty() {
            report.protocol = protocol_text(&trials.single);
        }
        singles.push((subject.name.clone(), trials.single));
    }
    report.means = means(&report.scores);
    if singles.len() >= 2 && (auto || !fitted.is_empty()) {
        report.calibration_light = calibration_light(&singles)?;
        report.calibration_light_means = transfer_means(&report.calibration_light);
        // The network's row, when its card measured every subject here.
        report.network_calibration_light = net
            .as_ref()
            .and_then(|n| n.loso.clone())
            .filter(|l| singles.iter().all(|(name, _)| l.on(name).is_some()));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn subject_info(subject: &Subject, data: &MiTrials) -> SubjectInfo {
    SubjectInfo {
        name: subject.name.clone(),
        source: data.source.clone(),
        trials: data.labels.len(),
        left: data.labels.iter().filter(|&&y| y == 0).count(),
    }
}

fn protocol_text(data: &MiTrials) -> String {
    format!(
        "{} channels, causal {}-{} Hz, window {}-{} s after the cue, {FOLDS} stratified folds within each subject",
        data.protocol.channels.len(),
        data.protocol.band_hz.0,
        data.protocol.band_hz.1,
        CUE_OFFSET_SECS,
        CUE_OFFSET_SECS + data.protocol.window_secs,
    )
}

/// The network of `--model` (default: the shipped mi-net) with what its card says.
struct CardNet {
    net: neuroloop_decoders::mi::MiNet,
    /// The held-out accuracy its card claims.
    claimed: Option<f64>,
    /// The recordings its card lists as influencing it.
    influenced: Vec<String>,
    /// Its card's leave-one-subject-out figures, when it has them.
    loso: Option<NetworkLoso>,
}

fn load_net(args: &EvalMiArgs) -> anyhow::Result<CardNet> {
    use neuroloop_decoders::mi::MiNet;
    use neuroloop_decoders::onnx::ModelCard;
    let card = match &args.model {
        Some(p) => ModelCard::read(p)?,
        None => ModelCard::shipped(neuroloop_decoders::mi::net::MI_NET_CARD)?,
    };
    Ok(CardNet {
        claimed: card.validation_number("accuracy_imagined"),
        influenced: card
            .provenance
            .as_ref()
            .map(|p| p.influenced.clone())
            .unwrap_or_default(),
        loso: NetworkLoso::of(&card),
        net: MiNet::load(&card)?,
    })
}

/// Writes the network trainer's input (`--dump-features`).
fn dump_mi(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let dump = neuroloop_offline::eval::mi::dump_net_features(dir, out)?;
    for set in &dump.sets {
        println!(
            "{}: {} trials x {} channels x {} samples from {} -> {}",
            set.name,
            set.labels.len(),
            dump.protocol.channels.len(),
            set.samples,
            set.runs.join(", "),
            out.join(&set.file).display()
        );
    }
    Ok(())
}

fn percent(v: f64) -> String {
    format!("{:.1} %", 100.0 * v)
}

/// The per-subject table, the means and the calibration-light table.
fn print_report(report: &MiReport) {
    let trials: Vec<String> = report
        .subjects
        .iter()
        .map(|s| format!("{} {} trials ({} left)", s.name, s.trials, s.left))
        .collect();
    println!(
        "{}: {}; chance 50 %; {}",
        report.dataset,
        trials.join(", "),
        report.protocol
    );
    println!("subject  method     accuracy   kappa  | pyRiemann + scikit-learn   same prediction");
    for r in &report.scores {
        let right = if let Some(rf) = &r.reference {
            format!(
                "{:>8}   {:>6.3}      {}/{}",
                percent(rf.accuracy),
                rf.kappa,
                rf.same_predictions,
                r.trials
            )
        } else if r.method == AUTO {
            let chosen: Vec<&str> = r.chosen.iter().map(|m| m.name()).collect();
            format!("chosen in the outer folds: {}", chosen.join(", "))
        } else if let Some(model) = &r.model {
            let seen = if r.influenced == Some(true) {
                "which this subject's runs shaped (in-sample)"
            } else {
                "which never saw this subject"
            };
            format!(
                "network {model}, {seen}; its card's held-out estimate {}; CSP-LDA fitted on this subject's executed runs R03/R07/R11: {}",
                r.card_accuracy.map_or("-".into(), percent),
                r.csp_lda_transfer_accuracy.map_or("-".into(), percent)
            )
        } else {
            "-".into()
        };
        println!(
            "{:<8} {:<9} {:>8}   {:>6.3}  | {right}",
            r.subject,
            r.method,
            percent(r.accuracy),
            r.kappa
        );
    }
    if report.subjects.len() > 1 {
        for m in &report.means {
            let seen = report
                .scores
                .iter()
                .filter(|r| r.method == m.method && r.influenced == Some(true))
                .count();
            let right = match m.reference_accuracy {
                Some(a) => percent(a),
                None if seen > 0 => format!(
                    "in-sample on {seen} of these subjects; the card's held-out estimate is the figure for a new user"
                ),
                None => "-".into(),
            };
            println!(
                "{:<8} {:<9} {:>8}   {:>6.3}  | {right}",
                "mean",
                m.method,
                percent(m.accuracy),
                m.kappa,
            );
        }
    }
    if !report.calibration_light.is_empty() {
        print_calibration_light(report);
    }
}

fn print_calibration_light(report: &MiReport) {
    let test = report
        .calibration_light
        .first()
        .map_or(0, |s| s.test_trials);
    println!();
    println!(
        "Calibration-light, leave one subject out: fitted on the other subjects and/or the new subject's first k labelled trials; \
         the new subject's first {ALIGNMENT_TRIALS} trials set its alignment (labels unused) and its other trials ({test} here) are scored"
    );
    let names: Vec<&str> = report.subjects.iter().map(|s| s.name.as_str()).collect();
    let mut header = format!("{:<9} {:<24} {:>3}", "method", "fitted on", "k");
    for n in &names {
        header.push_str(&format!(" {n:>8}"));
    }
    println!("{header}     mean");
    for m in &report.calibration_light_means {
        let mut line = format!(
            "{:<9} {:<24} {:>3}",
            m.method.name(),
            m.training.label(),
            m.calibration_trials
        );
        for n in &names {
            let a = report
                .calibration_light
                .iter()
                .find(|s| {
                    s.subject == *n
                        && s.method == m.method
                        && s.training == m.training
                        && s.calibration_trials == m.calibration_trials
                })
                .and_then(|s| s.accuracy);
            line.push_str(&format!(" {:>8}", a.map_or("-".into(), percent)));
        }
        println!("{line} {:>8}", m.accuracy.map_or("-".into(), percent));
    }
    if let Some(l) = &report.network_calibration_light {
        let mut line = format!("{:<9} {:<24} {:>3}", l.model, "other subjects (card)", 0);
        let mut sum = 0.0;
        for n in &names {
            let a = l.on(n).unwrap_or(f64::NAN);
            sum += a;
            line.push_str(&format!(" {:>8}", percent(a)));
        }
        println!("{line} {:>8}", percent(sum / names.len() as f64));
        println!(
            "{} row: the network's nested leave-one-subject-out figures on the same trials, from its card (measured by its trainer, not recomputed here)",
            l.model
        );
    }
}

/// Fits the most accurate single method on every trial and saves it (`--save-model`); the
/// first of equally accurate methods, as `mi fit` chooses.
fn save_best_mi(
    trials: &MethodTrials,
    rows: &[MiScoreRow],
    path: &Path,
    quiet: bool,
) -> anyhow::Result<()> {
    let best = rows
        .iter()
        .filter_map(|r| {
            MiMethod::ALL
                .into_iter()
                .find(|m| m.name() == r.method)
                .map(|m| (m, r.accuracy))
        })
        .reduce(|a, b| if b.1 > a.1 { b } else { a });
    let Some((method, accuracy)) = best else {
        bail!("--save-model needs at least one fitted --method (csp-lda, ts-lr, mdm, fbcsp-lda)");
    };
    let model = fit_all(trials.for_method(method), method, Some(accuracy))?;
    model.save(path)?;
    if !quiet {
        println!(
            "saved {} fitted on all {} trials to {}",
            method.name(),
            trials.single.labels.len(),
            path.display()
        );
    }
    Ok(())
}
