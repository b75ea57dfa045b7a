//! How the spindle detector's defaults were chosen, reproducibly: a grid over the four A7
//! thresholds, the band-pass order and the minimum duration, scored by pooled F1 against
//! scorer 1 of the DREAMS excerpts. For each excerpt the best setting on the *other* excerpts
//! is picked and scored on the held-out one (leave-one-excerpt-out), which estimates how the
//! selection generalises; then the best setting on all excerpts is printed.
//!
//! `cargo run --release -p neuroloop --example spindle_grid [DATA_DIR]`
use neuroloop_decoders::sleep::SpindleConfig;
use neuroloop_offline::eval::spindles::*;
use std::path::PathBuf;
fn main() {
    let data = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data".to_owned());
    let dir = resolve_dreams_dir(&PathBuf::from(data));
    let dir = dir.as_path();
    let base = SpindleConfig::default();
    let mut grid = Vec::new();
    for &abs in &[1.0, 1.25, 1.5] {
        for &rel in &[1.6, 2.0, 2.5] {
            for &cov in &[1.3, 1.8] {
                for &corr in &[0.69, 0.8] {
                    for &ord in &[1usize, 2] {
                        for &md in &[0.3, 0.5] {
                            let mut c = base;
                            c.abs_power_log10 = abs;
                            c.rel_power_z = rel;
                            c.covariance_z = cov;
                            c.correlation = corr;
                            c.filter_order = ord;
                            c.min_duration_secs = md;
                            grid.push(c);
                        }
                    }
                }
            }
        }
    }
    // counts[config][excerpt] = (expert, detected, matched)
    let mut counts = Vec::new();
    let mut ex = Vec::new();
    for c in &grid {
        let r = evaluate_dreams(dir, *c).unwrap();
        ex = r.excerpts.iter().map(|e| e.excerpt).collect::<Vec<_>>();
        counts.push(
            r.excerpts
                .iter()
                .map(|e| e.scorers[0].detector)
                .collect::<Vec<_>>(),
        );
    }
    let f1_on = |ci: usize, keep: &dyn Fn(usize) -> bool| {
        EventScore::pooled(
            counts[ci]
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(*i))
                .map(|(_, s)| s),
        )
        .f1
    };
    let mut cv = Vec::new();
    for held in 0..ex.len() {
        let best = (0..grid.len())
            .max_by(|&a, &b| f1_on(a, &|i| i != held).total_cmp(&f1_on(b, &|i| i != held)))
            .unwrap();
        println!(
            "held out {}: chose {:?} -> held-out F1 {:.3}",
            ex[held], grid[best], counts[best][held].f1
        );
        cv.push(counts[best][held]);
    }
    println!("LOEO pooled: {:?}", EventScore::pooled(&cv));
    let best = (0..grid.len())
        .max_by(|&a, &b| f1_on(a, &|_| true).total_cmp(&f1_on(b, &|_| true)))
        .unwrap();
    println!("all: {:?} F1 {:.3}", grid[best], f1_on(best, &|_| true));
}
