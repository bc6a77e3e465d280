//! The one clock. Wall time is derived from tokio's monotonic clock
//! (`start_wall + elapsed × speed`), so a test that pauses tokio time freezes the
//! floor's clock too, and timers can be driven with `tokio::time::advance` instead
//! of sleeps. A speed above 1 runs the whole daemon's sense of time faster, which
//! is how `floorwatch demo --speed 20` shows ten minutes of a floor in thirty
//! seconds with every timer rule (overruns, silent sources, surges) keeping pace.

use tokio::time::Instant;

use crate::event::Ts;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start_wall: Ts,
    start: Instant,
    /// Clock milliseconds per real millisecond; 1.0 except in sped-up demos.
    speed: f64,
}

impl Clock {
    /// A clock reading the system's wall time at start.
    pub fn system() -> Clock {
        Clock::starting_at(chrono::Utc::now().timestamp_millis())
    }

    /// A clock that reads `start_wall` now and runs with tokio's time from here.
    pub fn starting_at(start_wall: Ts) -> Clock {
        Clock { start_wall, start: Instant::now(), speed: 1.0 }
    }

    /// This clock, running `speed` times faster than real time from its start.
    /// Speeds that are not finite and positive leave it at real time.
    pub fn with_speed(self, speed: f64) -> Clock {
        let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
        Clock { speed, ..self }
    }

    /// The tokio instant at which this clock reads `ts` (now, if `ts` is past).
    pub fn instant_at(&self, ts: Ts) -> Instant {
        let ahead = u64::try_from(ts.saturating_sub(self.start_wall)).unwrap_or(0);
        let real = if self.speed == 1.0 { ahead } else { (ahead as f64 / self.speed).ceil() as u64 };
        self.start + std::time::Duration::from_millis(real)
    }

    pub fn now_ms(&self) -> Ts {
        let elapsed = self.start.elapsed();
        let ms = if self.speed == 1.0 {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX / 2)
        } else {
            (elapsed.as_secs_f64() * 1000.0 * self.speed) as i64
        };
        self.start_wall.saturating_add(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_faster_clock_reads_and_schedules_consistently() {
        let c = Clock::starting_at(1_000_000).with_speed(20.0);
        assert_eq!(c.instant_at(1_000_000 + 20_000), c.start + std::time::Duration::from_secs(1));
        tokio::time::advance(std::time::Duration::from_secs(3)).await;
        assert_eq!(c.now_ms(), 1_060_000);
        // A deadline already past is due now, not before the start.
        assert_eq!(c.instant_at(0), c.start);
        assert_eq!(Clock::starting_at(0).with_speed(f64::NAN).speed, 1.0);
    }
}
