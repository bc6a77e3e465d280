//! The one clock. Wall time is derived from tokio's monotonic clock
//! (`start_wall + elapsed`), so a test that pauses tokio time freezes the floor's
//! clock too, and timers can be driven with `tokio::time::advance` instead of sleeps.

use tokio::time::Instant;

use crate::event::Ts;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start_wall: Ts,
    start: Instant,
}

impl Clock {
    /// A clock reading the system's wall time at start.
    pub fn system() -> Clock {
        Clock::starting_at(chrono::Utc::now().timestamp_millis())
    }

    /// A clock that reads `start_wall` now and runs with tokio's time from here.
    pub fn starting_at(start_wall: Ts) -> Clock {
        Clock { start_wall, start: Instant::now() }
    }

    /// The tokio instant at which this clock reads `ts` (now, if `ts` is past).
    pub fn instant_at(&self, ts: Ts) -> Instant {
        let ahead = u64::try_from(ts.saturating_sub(self.start_wall)).unwrap_or(0);
        self.start + std::time::Duration::from_millis(ahead)
    }

    pub fn now_ms(&self) -> Ts {
        let elapsed = i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX / 2);
        self.start_wall.saturating_add(elapsed)
    }
}
