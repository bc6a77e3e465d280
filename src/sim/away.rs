//! `not_ready` spells: breaks, lunch, training, meetings and system trouble.
//!
//! Apart from the call flow because their rules are about people, not calls: a
//! spell falls due on its own timer, waits for the current call to finish, and
//! waits again if too much of the floor is already away (a supervisor would say
//! no). Overruns, the cases the daemon's alerts exist for, are made here too.

use rand::Rng;

use super::event::SimEvent;
use super::model::{Action, DAY, MIN, Phase, Reason, SimModel};

/// Local time window in which lunches start: 11:00–13:00, given up after 14:00.
const LUNCH_FROM: i64 = 11 * 60 * MIN;
const LUNCH_WINDOW: i64 = 2 * 60 * MIN;
const LUNCH_GIVE_UP: i64 = 14 * 60 * MIN;
/// Mean gap between an agent's training, meeting or system spells, minutes.
const MEAN_MISC_GAP_MINS: f64 = 150.0;

impl SimModel {
    /// Sets the first break, lunch and other spell of an agent who just logged in.
    /// First breaks are spread over the first hour and a half so a fresh demo
    /// shows some `not_ready` within minutes.
    pub(super) fn plan_first_away(&mut self, a: usize) {
        let first_break = self.uniform_ms(3.0 * 60.0, 100.0 * 60.0);
        self.schedule(self.now + first_break, Action::BreakDue(a));
        let misc = self.exp_ms(MEAN_MISC_GAP_MINS * 60.0);
        self.schedule(self.now + misc, Action::MiscDue(a));
        let lunch = self.next_lunch(self.now);
        // The lunch wave is part of the day's shape, which a flat curve (the demo:
        // the peak hour at any hour) leaves out: a demo started at the floor's
        // lunchtime would otherwise run short of agents, its service level low for
        // an hour. (Drawn all the same, so a seed gives the same floor either way.)
        if !self.flat {
            self.schedule(lunch, Action::LunchDue(a));
        }
    }

    pub(super) fn break_due(&mut self, a: usize, out: &mut Vec<SimEvent>) {
        self.set_pending(a, Reason::Break);
        self.try_away(a, out);
    }

    pub(super) fn lunch_due(&mut self, a: usize, out: &mut Vec<SimEvent>) {
        if self.agents[a].lunch_day == self.local_day(self.now) {
            let next = self.next_lunch(self.next_local_midnight(self.now));
            self.schedule(next, Action::LunchDue(a));
            return;
        }
        self.set_pending(a, Reason::Lunch);
        self.try_away(a, out);
    }

    /// Hands out the showcase overruns (see `SimConfig::showcase_every_secs`): the
    /// next call to end gets a long after-call work, and an agent goes not-ready
    /// with a system problem as soon as they are free.
    pub(super) fn showcase(&mut self, out: &mut Vec<SimEvent>) {
        self.showcase_acw = true;
        self.showcase_system = true;
        let a = self.rng.random_range(0..self.agents.len());
        self.set_pending(a, Reason::System);
        self.try_away(a, out);
        self.schedule(self.now + self.showcase_every, Action::Showcase);
    }

    pub(super) fn misc_due(&mut self, a: usize, out: &mut Vec<SimEvent>) {
        let reason = match self.rng.random_range(0..10) {
            0..6 => Reason::System,
            6..8 => Reason::Meeting,
            _ => Reason::Training,
        };
        self.set_pending(a, reason);
        let gap = self.exp_ms(MEAN_MISC_GAP_MINS * 60.0).max(10 * MIN);
        self.schedule(self.now + gap, Action::MiscDue(a));
        self.try_away(a, out);
    }

    /// Records a due spell; the more important of two waits, and a displaced break
    /// comes back later (minor spells are simply skipped: their timer rearms).
    fn set_pending(&mut self, a: usize, reason: Reason) {
        let displaced = match self.agents[a].pending {
            Some(p) if p >= reason => Some(reason),
            other => {
                self.agents[a].pending = Some(reason);
                other
            }
        };
        if displaced == Some(Reason::Break) {
            let later = self.uniform_ms(20.0 * 60.0, 40.0 * 60.0);
            self.schedule(self.now + later, Action::BreakDue(a));
        }
    }

    /// Starts the pending spell if the agent is idle and the floor has room.
    pub(super) fn try_away(&mut self, a: usize, out: &mut Vec<SimEvent>) {
        if self.agents[a].phase != Phase::Ready {
            return;
        }
        if let Some(reason) = self.away_allowed(a) {
            self.start_away(a, reason, out);
        } else if self.agents[a].pending.is_some() && !self.agents[a].retry_scheduled {
            self.agents[a].retry_scheduled = true;
            let wait = self.uniform_ms(20.0, 60.0);
            self.schedule(self.now + wait, Action::AwayRetry(a));
        }
    }

    /// The pending spell, if the floor's cap allows it now. A lunch still pending
    /// at 14:00 is given up for the day.
    pub(super) fn away_allowed(&mut self, a: usize) -> Option<Reason> {
        let reason = self.agents[a].pending?;
        if reason == Reason::Lunch && self.local_time_of_day(self.now) >= LUNCH_GIVE_UP {
            self.agents[a].pending = None;
            let next = self.next_lunch(self.next_local_midnight(self.now));
            self.schedule(next, Action::LunchDue(a));
            return None;
        }
        (self.away < self.away_cap).then_some(reason)
    }

    pub(super) fn start_away(&mut self, a: usize, reason: Reason, out: &mut Vec<SimEvent>) {
        self.leave_idle(a);
        self.agents[a].pending = None;
        self.agents[a].phase = Phase::Away;
        self.away += 1;
        self.emit_state(out, a, "not_ready", Some(reason), false);

        let overrun = self.overruns;
        let lasts = match reason {
            Reason::System if self.showcase_system => {
                self.showcase_system = false;
                self.uniform_ms(150.0, 200.0)
            }
            // Thresholds: a break over 15 min and a system spell over 5 min alert.
            Reason::Break if overrun && self.rng.random_bool(0.1) => {
                self.uniform_ms(16.0 * 60.0, 20.0 * 60.0)
            }
            Reason::Break => self.uniform_ms(10.0 * 60.0, 14.5 * 60.0),
            Reason::Lunch => self.uniform_ms(30.0 * 60.0, 58.0 * 60.0),
            Reason::Training => self.uniform_ms(8.0 * 60.0, 14.0 * 60.0),
            Reason::Meeting => self.uniform_ms(5.0 * 60.0, 12.0 * 60.0),
            Reason::System if overrun && self.rng.random_bool(0.2) => self.uniform_ms(6.0 * 60.0, 8.0 * 60.0),
            Reason::System => self.uniform_ms(60.0, 4.0 * 60.0),
        };
        let end = self.now + lasts;
        self.schedule(end, Action::AwayEnd(a));
        match reason {
            Reason::Break => {
                let gap = self.uniform_ms(120.0 * 60.0, 180.0 * 60.0);
                self.schedule(end + gap, Action::BreakDue(a));
            }
            Reason::Lunch => {
                self.agents[a].lunch_day = self.local_day(self.now);
                let next = self.next_lunch(self.next_local_midnight(end));
                self.schedule(next, Action::LunchDue(a));
            }
            _ => {}
        }
    }

    pub(super) fn away_end(&mut self, a: usize, out: &mut Vec<SimEvent>) {
        self.away -= 1;
        self.become_ready(a, true, out);
    }

    /// A random lunch start in the next 11:00–13:00 local window at or after `from`.
    fn next_lunch(&mut self, from: i64) -> i64 {
        let day_start = from - self.local_time_of_day(from);
        let (open, close) = (day_start + LUNCH_FROM, day_start + LUNCH_FROM + LUNCH_WINDOW);
        if from < close {
            let begin = from.max(open);
            begin + self.rng.random_range(0..close - begin)
        } else {
            day_start + DAY + LUNCH_FROM + self.rng.random_range(0..LUNCH_WINDOW)
        }
    }

    /// Milliseconds since local midnight.
    fn local_time_of_day(&self, t: i64) -> i64 {
        (t + self.local_offset).rem_euclid(DAY)
    }

    fn local_day(&self, t: i64) -> i64 {
        (t + self.local_offset).div_euclid(DAY)
    }

    fn next_local_midnight(&self, t: i64) -> i64 {
        t - self.local_time_of_day(t) + DAY
    }
}
