//! `sealpost bench`: runs [`crate::bench`] with a progress bar and prints the table.

use std::io::Write;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::args::BenchArgs;
use crate::bench::{self, Settings};

pub(super) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let settings =
        Settings { only: args.only.clone(), seconds: args.seconds, sizes: args.sizes.clone(), compare: args.compare };
    let plan = bench::plan(&settings)?;
    if settings.compare {
        match bench::openssl::version() {
            Ok(v) => eprintln!("comparing with {v}"),
            Err(err) => eprintln!("sealpost: note: no comparison: {err}"),
        }
    }
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(plan.len() as u64) };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed_precise}, about {eta} left]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rows = Vec::with_capacity(plan.len());
    for (row, size) in &plan {
        bar.set_message(format!("{} @ {size} B", row.name()));
        rows.push(bench::measure(row, *size, &settings).with_context(|| format!("measuring {}", row.name()))?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    out.write_all(bench::table(&rows, settings.compare).as_bytes())?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&rows)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        let title = if settings.compare { "sealpost vs OpenSSL throughput" } else { "sealpost throughput" };
        let svg = bench::plot::render(title, "MB/s", &bench::bars(&rows));
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
