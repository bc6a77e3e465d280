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
        // "Never" (`Ts::MAX`: nothing due) must not overflow the instant: a year
        // out is as good as never, and the engine wakes on input anyway.
        let far = std::time::Duration::from_secs(365 * 86_400);
        self.start + std::time::Duration::from_millis(real).min(far)
    }

    /// The first point at or after `t` of a grid of `period` counted from this
    /// clock's start (real time, whatever the speed). The engine publishes
    /// snapshots on such a grid and the wallboard feed sends on one a moment
    /// later, so when one period divides the other each wall update carries a
    /// snapshot just taken, not one up to a whole snapshot interval old.
    pub fn grid_at_or_after(&self, t: Instant, period: std::time::Duration) -> Instant {
        let since = t.saturating_duration_since(self.start).as_nanos();
        let period = period.as_nanos().max(1);
        let at = since.div_ceil(period) * period;
        self.start + std::time::Duration::from_nanos(u64::try_from(at).unwrap_or(u64::MAX))
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

    #[tokio::test(start_paused = true)]
    async fn grid_points_are_multiples_of_the_period_from_the_start() {
        let c = Clock::starting_at(0).with_speed(20.0);
        let ms = std::time::Duration::from_millis;
        let p = ms(250);
        assert_eq!(c.grid_at_or_after(c.start, p), c.start);
        assert_eq!(c.grid_at_or_after(c.start + ms(1), p), c.start + ms(250));
        assert_eq!(c.grid_at_or_after(c.start + ms(250), p), c.start + ms(250));
        assert_eq!(c.grid_at_or_after(c.start + ms(1_001), p), c.start + ms(1_250));
        // Every point of a 250 ms grid is a point of a 125 ms grid.
        let t = c.start + ms(3_333);
        let wall = c.grid_at_or_after(t, p);
        assert_eq!(c.grid_at_or_after(wall, ms(125)), wall);
    }
}
