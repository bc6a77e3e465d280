//! `floorwatch demo` and `floorwatch sim`: the daemon plus the simulated floor.
//! (Filled in once the simulator lands.)

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::cli::{CliError, SimArgs};

pub(crate) async fn run(
    _config: Option<PathBuf>,
    _listen: Option<SocketAddr>,
    _data_dir: Option<PathBuf>,
    _sim: SimArgs,
) -> Result<(), CliError> {
    Err(CliError::Other(anyhow::anyhow!("demo is not wired yet")))
}

pub(crate) async fn run_sim(
    _url: String,
    _token: Option<String>,
    _d: Option<u64>,
    _sim: SimArgs,
) -> Result<(), CliError> {
    Err(CliError::Other(anyhow::anyhow!("sim is not wired yet")))
}
