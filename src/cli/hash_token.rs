//! `floorwatch hash-token`: the `sha256 = "…"` line of a token for
//! `[[access.tokens]]` or `[[ingest.tokens]]`, so nobody hashes by hand. The
//! token comes from stdin (its trailing newline dropped), or `--generate` makes
//! a random one and prints it too (give it to its holder; the config keeps only
//! the hash).

use std::io::{BufRead, Write};

use super::CliError;
use crate::access::Digest;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// Make a random token (32 bytes, hex) instead of reading one from stdin.
    #[arg(long)]
    generate: bool,
}

pub(super) fn run(args: &Args) -> Result<(), CliError> {
    let token = if args.generate {
        generate()?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| anyhow::anyhow!("reading stdin: {e}"))?;
        let t = line.trim_end_matches(['\r', '\n']).to_owned();
        if t.trim().is_empty() {
            return Err(anyhow::anyhow!("no token on stdin (or pass --generate)").into());
        }
        t
    };
    let mut out = std::io::stdout().lock();
    let written = if args.generate { writeln!(out, "token  = {token}") } else { Ok(()) };
    written
        .and_then(|()| writeln!(out, "sha256 = \"{}\"", Digest::of(&token).to_hex()))
        .map_err(|e| anyhow::anyhow!("writing stdout: {e}"))?;
    Ok(())
}

fn generate() -> Result<String, CliError> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
