//! `floorwatch check-config FILE`: exactly the validation `serve` runs, without
//! starting anything.

use std::path::PathBuf;

use super::CliError;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The config file (TOML) to validate.
    file: PathBuf,
}

pub(super) fn run(args: &Args) -> Result<(), CliError> {
    let file = &args.file;
    let cfg = super::load(Some(file), None, None)?;
    println!(
        "{}: ok (listen {}, {} queues, {} teams, {} shifts, time zone {})",
        file.display(),
        cfg.listen,
        cfg.floor.queues.len(),
        cfg.floor.teams.len(),
        cfg.floor.shifts.len(),
        cfg.floor.timezone
    );
    Ok(())
}
