//! `neuroloop eval`: decoders on recorded data sets beside reference numbers
//! (`neuroloop_offline::eval`).

use std::path::Path;

use anyhow::bail;
use neuroloop_decoders::sleep::SoConfig;
use neuroloop_offline::eval::{SsvepMethod, evaluate_ssvep, load_kalunga, reference_mean_accuracy};
use neuroloop_runtime::FrontEnd;

use super::args::{
    EvalSoPhaseArgs, EvalSpindlesArgs, EvalSsvepArgs, EvalSsvepMethod, SpindleDetectorArg,
};
use super::session::print_json_or_text;

impl From<EvalSsvepMethod> for SsvepMethod {
    fn from(m: EvalSsvepMethod) -> SsvepMethod {
        match m {
            EvalSsvepMethod::Cca => SsvepMethod::Cca,
            EvalSsvepMethod::Fbcca => SsvepMethod::Fbcca,
            EvalSsvepMethod::FbccaStarts => SsvepMethod::FbccaStarts,
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
    let mut sessions = load_kalunga(&args.kalunga)?;
    if args.marker_shift_secs != 0.0 {
        let dropped = neuroloop_offline::eval::ssvep::shift_markers(
            &mut sessions,
            args.marker_shift_secs,
            neuroloop_offline::eval::ssvep::KALUNGA_RATE_HZ,
        );
        eprintln!(
            "markers moved by {:+} s ({dropped} trials fell before the recording and were dropped)",
            args.marker_shift_secs
        );
    }
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
    println!(
        "method       window   accuracy   ITR (bits/min)   reference (numpy/scipy; onnx: FBCCA)"
    );
    for r in &results {
        let reference = if let Some(fbcca) = r.fbcca_same_subjects {
            let subjects: Vec<&str> = r.subjects.keys().map(String::as_str).collect();
            let which = if r.in_sample {
                "on the same subjects, which the network was trained on (in-sample; its card gives the leave-one-subject-out figures)"
            } else {
                "on the same held-out subjects"
            };
            format!(
                "FBCCA {:.1} % {which} ({}); the card's window, --window-secs does not apply",
                100.0 * fbcca,
                subjects.join(" ")
            )
        } else if args.marker_shift_secs != 0.0 {
            // The reference was computed at the data set's own markers.
            "- (markers moved)".to_string()
        } else {
            reference_mean_accuracy(r.method, r.window_secs)
                .map_or_else(|| "-".to_string(), |a| format!("{:.1} %", 100.0 * a))
        };
        println!(
            "{:<12} {:>4.1} s   {:>6.1} %   {:>10.2}       {reference}",
            r.method.name(),
            r.window_secs,
            100.0 * r.mean_accuracy,
            r.mean_itr_bits_per_min
        );
    }
    print_ssvep_subjects(&results);
    Ok(())
}

/// Per subject: accuracy and Wolpaw ITR of every method and window.
fn print_ssvep_subjects(results: &[neuroloop_offline::eval::SsvepEval]) {
    use neuroloop_offline::eval::wolpaw_itr;
    let mut subjects: Vec<&String> = results.iter().flat_map(|r| r.subjects.keys()).collect();
    subjects.sort();
    subjects.dedup();
    if subjects.is_empty() {
        return;
    }
    print!(
        "\nper subject: accuracy % (ITR bits/min)\n{:<12} window",
        "method"
    );
    for s in &subjects {
        print!(" {s:>13}");
    }
    println!();
    for r in results {
        print!("{:<12} {:>4.1} s", r.method.name(), r.window_secs);
        for s in &subjects {
            match r.subjects.get(*s) {
                Some(score) => {
                    let a = score.correct as f64 / score.trials.max(1) as f64;
                    let itr = wolpaw_itr(a, 3, r.window_secs + 0.5);
                    print!(" {:>6.1} ({:>4.1})", 100.0 * a, itr);
                }
                None => print!(" {:>13}", "-"),
            }
        }
        println!();
    }
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
    // The curve's operating point is chosen leave one excerpt out: it needs every excerpt.
    let curve = if args.no_curve || only.is_some() {
        None
    } else {
        Some(neuroloop_offline::eval::spindle_curve::trigger_curve(
            &dir,
            &detector,
            &report.excerpts,
        )?)
    };
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(c) = &curve {
            value["curve"] = serde_json::to_value(c)?;
        }
        return super::tools::print_all(&(serde_json::to_string_pretty(&value)? + "\n"));
    }
    let mut text = format_report(&report);
    if let Some(c) = &curve {
        text += &neuroloop_offline::eval::spindle_curve::format_curve(c);
    }
    super::tools::print_all(&text)
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
