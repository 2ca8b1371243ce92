//! `sealpost smime compress` and `sealpost smime decompress`: files and error mapping; the work is in
//! [`crate::smime::compressed`].

use std::io::Read;

use anyhow::Context;

use super::VerdictFailure;
use super::args::smime::{SmimeCompress, SmimeDecompress};
use super::files::{self, Output};
use crate::core::compress::Budget;
use crate::smime::SmimeError;
use crate::smime::compressed;
use crate::smime::input::{self, PEM_LABEL, PemWriter};

/// An S/MIME error as the CLI reports it: a core error stays a core error (so its exit status is the core's),
/// verdicts become [`VerdictFailure`] (exit 1), the rest exit 2.
fn smime_error(err: SmimeError) -> anyhow::Error {
    match err {
        SmimeError::Core(core) => core.into(),
        e if e.is_verdict() => VerdictFailure(e.to_string()).into(),
        e => e.into(),
    }
}

fn input_name(path: Option<&std::path::Path>) -> String {
    match path {
        Some(p) if p != std::path::Path::new("-") => p.display().to_string(),
        _ => "standard input".into(),
    }
}

pub(super) fn compress_cmd(args: &SmimeCompress) -> anyhow::Result<()> {
    let name = input_name(args.io.input.as_deref());
    let mut input = files::input(args.io.input.as_deref())?;
    let mut out = Output::open(args.io.output.as_deref(), false)?;
    if args.pem {
        let mut pem = PemWriter::new(out.writer(), PEM_LABEL);
        compressed::compress(&mut input, &mut pem)
            .map_err(smime_error)
            .with_context(|| format!("compressing {name}"))?;
        pem.finalize().context("writing the output")?;
    } else {
        compressed::compress(&mut input, out.writer())
            .map_err(smime_error)
            .with_context(|| format!("compressing {name}"))?;
    }
    out.commit()
}

pub(super) fn decompress_cmd(args: &SmimeDecompress) -> anyhow::Result<()> {
    let name = input_name(args.io.input.as_deref());
    let mut bytes = Vec::new();
    files::input(args.io.input.as_deref())?.read_to_end(&mut bytes).with_context(|| format!("cannot read {name}"))?;
    let mut out = Output::open(args.io.output.as_deref(), false)?;
    let inner = compressed::decompress_all(&bytes, &Budget::default(), out.writer())
        .map_err(smime_error)
        .with_context(|| format!("decompressing {name}"))?;
    if inner != const_oid::db::rfc6268::ID_DATA {
        eprintln!("sealpost: note: the compressed content is {}; written as a CMS message", input::oid_name(&inner));
    }
    out.commit()
}
