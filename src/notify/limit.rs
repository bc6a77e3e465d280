//! A receiver's rate limit: at most `n` pushes in any window (a minute for the
//! robots), the way the robots count (a sliding window over the last sends).
//! Pure: the caller passes `now` (tokio's clock in the worker, so paused-time
//! tests drive it), and the limiter only says when the next push may go.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct Limiter {
    per_window: usize,
    window: Duration,
    /// Times of the sends still inside the window, oldest first.
    sent: VecDeque<Instant>,
}

impl Limiter {
    pub(crate) fn new(per_window: u32, window: Duration) -> Limiter {
        let per_window = usize::try_from(per_window).unwrap_or(usize::MAX).max(1);
        Limiter { per_window, window, sent: VecDeque::with_capacity(per_window.min(1024)) }
    }

    /// The earliest time (`now` or later) the next push may be sent.
    pub(crate) fn next_slot(&mut self, now: Instant) -> Instant {
        while self.sent.front().is_some_and(|&t| t + self.window <= now) {
            self.sent.pop_front();
        }
        if self.sent.len() < self.per_window {
            now
        } else {
            // Full: the oldest send leaves the window first.
            self.sent.front().map_or(now, |&t| t + self.window)
        }
    }

    /// Records a push sent at `at`.
    pub(crate) fn record(&mut self, at: Instant) {
        self.sent.push_back(at);
        if self.sent.len() > self.per_window {
            self.sent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_n_per_window_then_the_oldest_frees_a_slot() {
        let t0 = Instant::now();
        let min = Duration::from_secs(60);
        let mut l = Limiter::new(3, min);
        for i in 0..3 {
            let at = t0 + Duration::from_secs(i);
            assert_eq!(l.next_slot(at), at);
            l.record(at);
        }
        // The fourth must wait until the first is a minute old.
        assert_eq!(l.next_slot(t0 + Duration::from_secs(5)), t0 + min);
        l.record(t0 + min);
        assert_eq!(l.next_slot(t0 + min), t0 + min + Duration::from_secs(1));
        // A quiet spell empties the window.
        let later = t0 + Duration::from_secs(600);
        assert_eq!(l.next_slot(later), later);
        // In any 60 s span of a long run, no more than 3 sends.
        let mut l = Limiter::new(3, min);
        let mut sends = Vec::new();
        let mut now = t0;
        for _ in 0..20 {
            now = l.next_slot(now);
            l.record(now);
            sends.push(now);
        }
        for w in sends.windows(4) {
            assert!(w[3] - w[0] >= min, "4 sends within {:?}", w[3] - w[0]);
        }
    }
}
