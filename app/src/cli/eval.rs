//! `neuroloop eval`: decoders on recorded data sets beside reference numbers
//! (`neuroloop_offline::eval`).

use std::path::Path;

use anyhow::bail;
use neuroloop_decoders::mi::MiMethod;
use neuroloop_decoders::sleep::SoConfig;
use neuroloop_offline::eval::mi::{
    CUE_OFFSET_SECS, EEGMMIDB_RUNS, MethodTrials, evaluate_mi, fit_all, load_eegmmidb,
    load_eegmmidb_with, reference as mi_reference,
};
use neuroloop_offline::eval::{SsvepMethod, evaluate_ssvep, load_kalunga, reference_mean_accuracy};
use neuroloop_runtime::FrontEnd;

use super::args::{
    EvalMiArgs, EvalMiMethod, EvalSoPhaseArgs, EvalSpindlesArgs, EvalSsvepArgs, EvalSsvepMethod,
    SpindleDetectorArg,
};
use super::session::print_json_or_text;

impl EvalMiMethod {
    /// The fitted method, or `None` for the network.
    fn fitted(self) -> Option<MiMethod> {
        match self {
            EvalMiMethod::CspLda => Some(MiMethod::CspLda),
            EvalMiMethod::TsLr => Some(MiMethod::TsLr),
            EvalMiMethod::Mdm => Some(MiMethod::Mdm),
            EvalMiMethod::FbcspLda => Some(MiMethod::FbcspLda),
            EvalMiMethod::Onnx => None,
        }
    }
}

impl From<EvalSsvepMethod> for SsvepMethod {
    fn from(m: EvalSsvepMethod) -> SsvepMethod {
        match m {
            EvalSsvepMethod::Cca => SsvepMethod::Cca,
            EvalSsvepMethod::Fbcca => SsvepMethod::Fbcca,
            EvalSsvepMethod::Trca => SsvepMethod::Trca,
            EvalSsvepMethod::Etrca => SsvepMethod::Etrca,
            EvalSsvepMethod::Onnx => SsvepMethod::Onnx,
        }
    }
}

/// The model card `path` names, or the shipped spindle model's.
fn spindle_card(path: Option<&Path>) -> anyhow::Result<neuroloop_decoders::onnx::ModelCard> {
    use neuroloop_decoders::onnx::{ModelCard, SPINDLE_NET_CARD};
    Ok(path.map_or_else(|| ModelCard::shipped(SPINDLE_NET_CARD), ModelCard::read)?)
}

/// `neuroloop eval ssvep`.
pub(super) fn eval_ssvep(args: &EvalSsvepArgs) -> anyhow::Result<()> {
    use neuroloop_decoders::onnx::ModelCard;
    use neuroloop_decoders::ssvep::net::SSVEP_NET_CARD;
    use neuroloop_offline::eval::ssvep::{dump_net_features, evaluate_ssvep_net};
    let methods: Vec<SsvepMethod> = args.method.iter().map(|&m| m.into()).collect();
    if (args.model.is_some() || args.front_end) && !methods.contains(&SsvepMethod::Onnx) {
        bail!("--model and --front-end are for the network: add onnx to --method");
    }
    let sessions = load_kalunga(&args.kalunga)?;
    if let Some(out) = &args.dump_features {
        let dump = dump_net_features(&sessions, out)?;
        println!(
            "wrote {} trials of {} sessions to {}",
            dump.trials.len(),
            sessions.len(),
            out.display()
        );
        return Ok(());
    }
    let trials: usize = sessions.iter().map(|s| s.trials.len()).sum();
    let mut results = Vec::new();
    for &method in &methods {
        if method == SsvepMethod::Onnx {
            let card = args
                .model
                .as_deref()
                .map_or_else(|| ModelCard::shipped(SSVEP_NET_CARD), ModelCard::read)?;
            let front_end = args.front_end.then(FrontEnd::default);
            results.push(evaluate_ssvep_net(&sessions, &card, front_end.as_ref())?);
        } else {
            results.extend(evaluate_ssvep(&sessions, method, &args.window_secs)?);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    println!(
        "Kalunga SSVEP: {} sessions, {trials} trials (13/17/21 Hz, chance 33.3 %); ITR: Wolpaw, T = W + 0.5 s",
        sessions.len()
    );
    println!("method  window   accuracy   ITR (bits/min)   reference (numpy/scipy; onnx: FBCCA)");
    for r in &results {
        let reference = if let Some(fbcca) = r.fbcca_same_subjects {
            let subjects: Vec<&str> = r.subjects.keys().map(String::as_str).collect();
            format!(
                "FBCCA {:.1} % on the same held-out subjects ({}); the card's window, --window-secs does not apply",
                100.0 * fbcca,
                subjects.join(" ")
            )
        } else {
            reference_mean_accuracy(r.method, r.window_secs)
                .map_or_else(|| "-".to_string(), |a| format!("{:.1} %", 100.0 * a))
        };
        println!(
            "{:<7} {:>4.1} s   {:>6.1} %   {:>10.2}       {reference}",
            r.method.name(),
            r.window_secs,
            100.0 * r.mean_accuracy,
            r.mean_itr_bits_per_min
        );
    }
    Ok(())
}

/// `neuroloop eval spindles`.
pub(super) fn eval_spindles(args: &EvalSpindlesArgs) -> anyhow::Result<()> {
    use neuroloop_offline::eval::spindles::{
        Detector, dump_features, evaluate_dreams_with, format_report, resolve_dreams_dir,
    };
    let dir = resolve_dreams_dir(&args.dreams);
    let detector = match args.detector {
        SpindleDetectorArg::A7 => Detector::A7(Default::default()),
        SpindleDetectorArg::Onnx => Detector::Net(Box::new(spindle_card(args.model.as_deref())?)),
    };
    if let Some(out) = &args.dump_features {
        let front_end = match &detector {
            Detector::Net(card) => card.spindle.map(|c| c.front_end).unwrap_or_default(),
            Detector::A7(_) => Default::default(),
        };
        let dump = dump_features(&dir, front_end, out)?;
        println!(
            "wrote the front end of {} excerpts to {}",
            dump.excerpts.len(),
            out.display()
        );
        return Ok(());
    }
    let only = (!args.excerpts.is_empty()).then_some(args.excerpts.as_slice());
    let report = evaluate_dreams_with(&dir, &detector, only)?;
    print_json_or_text(&report, args.json, format_report)
}

/// `neuroloop eval so-phase`.
pub(super) fn eval_so_phase(args: &EvalSoPhaseArgs) -> anyhow::Result<()> {
    use neuroloop_offline::eval::so_phase::{evaluate_so_phase, format_so_report};
    let config = SoConfig {
        target_phase_deg: args.target_deg,
        lookahead_secs: args.lookahead_secs,
        ..Default::default()
    };
    let report = evaluate_so_phase(&args.data, config)?;
    print_json_or_text(&report, args.json, format_so_report)
}

/// `neuroloop eval mi`.
pub(super) fn eval_mi(args: &EvalMiArgs) -> anyhow::Result<()> {
    if let Some(out) = &args.dump_features {
        return dump_mi(args, out);
    }
    let fitted: Vec<MiMethod> = args.method.iter().filter_map(|m| m.fitted()).collect();
    let trials = MethodTrials::cut(&fitted, |bank| match bank {
        None => load_eegmmidb(&args.eegmmidb),
        Some(protocol) => {
            load_eegmmidb_with(&args.eegmmidb, &EEGMMIDB_RUNS, protocol, CUE_OFFSET_SECS)
        }
    })?;
    let mut results = Vec::new();
    let mut net_result = None;
    for &m in &args.method {
        match m.fitted() {
            Some(m) => results.push(evaluate_mi(trials.for_method(m), m)?),
            None => match eval_mi_net(args) {
                Ok(r) => net_result = Some(r),
                // Beside other methods, a network that cannot run here (no ONNX Runtime,
                // no executed runs in the folder) is reported, not fatal.
                Err(e) if args.method.len() > 1 => {
                    eprintln!("onnx skipped: {}", crate::errors::error_text(&e))
                }
                Err(e) => return Err(e),
            },
        }
    }
    if args.json {
        let mut all: Vec<serde_json::Value> = results
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        if let Some(n) = &net_result {
            all.push(serde_json::to_value(n)?);
        }
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        print_mi_table(&trials.single, &results, net_result.as_ref());
    }
    if let Some(path) = &args.save_model {
        save_best_mi(&trials, &results, path, args.json)?;
    }
    Ok(())
}

/// Writes the network trainer's input (`--dump-features`).
fn dump_mi(args: &EvalMiArgs, out: &Path) -> anyhow::Result<()> {
    let dump = neuroloop_offline::eval::mi::dump_net_features(&args.eegmmidb, out)?;
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

/// The network of `--model` (default: the shipped mi-net), trained on the executed runs and
/// scored on the imagined ones.
fn eval_mi_net(args: &EvalMiArgs) -> anyhow::Result<neuroloop_offline::eval::mi::MiNetEval> {
    use neuroloop_decoders::mi::MiNet;
    use neuroloop_decoders::onnx::ModelCard;
    let card = match &args.model {
        Some(p) => ModelCard::read(p)?,
        None => ModelCard::shipped(neuroloop_decoders::mi::net::MI_NET_CARD)?,
    };
    let mut net = MiNet::load(&card)?;
    let claimed = card.validation_number("accuracy_imagined");
    Ok(neuroloop_offline::eval::mi::evaluate_mi_net(
        &args.eegmmidb,
        &mut net,
        claimed,
    )?)
}

/// The results beside pyRiemann's on the same trials.
fn print_mi_table(
    data: &neuroloop_offline::eval::mi::MiTrials,
    results: &[neuroloop_offline::eval::mi::MiEval],
    net: Option<&neuroloop_offline::eval::mi::MiNetEval>,
) {
    let left = data.labels.iter().filter(|&&y| y == 0).count();
    println!(
        "EEGMMIDB imagined left vs right fist ({}): {} trials ({left} left, {} right; chance 50 %), \
         {} channels, {}-{} Hz, window {}-{} s after the cue, {} stratified folds",
        data.source,
        data.labels.len(),
        data.labels.len() - left,
        data.protocol.channels.len(),
        data.protocol.band_hz.0,
        data.protocol.band_hz.1,
        CUE_OFFSET_SECS,
        CUE_OFFSET_SECS + data.protocol.window_secs,
        neuroloop_offline::eval::mi::FOLDS,
    );
    println!(
        "method     accuracy   kappa   | reference (pyRiemann + scikit-learn)   same prediction"
    );
    for r in results {
        let reference = mi_reference(r.method).filter(|(labels, _)| *labels == data.labels);
        let (ref_text, agree) = match &reference {
            Some((_, rf)) => (
                format!("{:>6.1} %   {:>6.3}", 100.0 * rf.accuracy, rf.kappa),
                format!(
                    "{}/{}",
                    rf.predictions
                        .iter()
                        .zip(&r.predictions)
                        .filter(|(a, b)| a == b)
                        .count(),
                    r.predictions.len()
                ),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<9} {:>6.1} %   {:>6.3}  | {ref_text:<38} {agree}",
            r.method.name(),
            100.0 * r.accuracy,
            r.kappa
        );
    }
    if let Some(n) = net {
        println!(
            "{:<9} {:>6.1} %   {:>6.3}  | {} trained on the executed runs (R03, R07, R11), every imagined trial held out; card {}; CSP-LDA fitted the same way: {:.1} %",
            "onnx",
            100.0 * n.accuracy,
            n.kappa,
            n.model,
            n.card_accuracy
                .map_or("-".to_string(), |a| format!("{:.1} %", 100.0 * a)),
            100.0 * n.csp_lda_transfer_accuracy
        );
    }
}

/// Fits the most accurate method on every trial and saves it (`--save-model`); the first of
/// equally accurate methods, as `mi fit` chooses.
fn save_best_mi(
    trials: &MethodTrials,
    results: &[neuroloop_offline::eval::mi::MiEval],
    path: &Path,
    quiet: bool,
) -> anyhow::Result<()> {
    let Some(best) = results
        .iter()
        .reduce(|a, b| if b.accuracy > a.accuracy { b } else { a })
    else {
        bail!("--save-model needs at least one --method");
    };
    let method = best.method;
    let model = fit_all(trials.for_method(method), method, Some(best.accuracy))?;
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
