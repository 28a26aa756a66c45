//! Delays between connection attempts to one node.

use std::time::Duration;

/// Exponential backoff with jitter: `initial`, doubling per failed attempt, at most `max`,
/// each delay moved by up to `jitter` (a fraction) either way so that many nodes retrying
/// the same peer do not retry in step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// How much each delay varies either way, as a fraction of it (0.1 is 10 %).
    pub jitter: f64,
}

impl Default for Backoff {
    /// 250 ms, doubling up to 5 s (one default poll interval), 10 % jitter.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(5),
            jitter: 0.1,
        }
    }
}

impl Backoff {
    /// The delay before attempt number `failures + 1`, after `failures` consecutive failures
    /// (0 gives `initial`).
    pub fn delay(&self, failures: u32) -> Duration {
        let base = self.initial.saturating_mul(1u32 << failures.min(20));
        jittered(base.min(self.max), self.jitter)
    }
}

/// `d` moved randomly by up to `fraction` of itself either way.
pub fn jittered(d: Duration, fraction: f64) -> Duration {
    use rand::Rng;
    if fraction <= 0.0 || d.is_zero() {
        return d;
    }
    let f = fraction.min(1.0);
    d.mul_f64(rand::thread_rng().gen_range(1.0 - f..=1.0 + f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            jitter: 0.0,
        };
        assert_eq!(b.delay(0), Duration::from_millis(100));
        assert_eq!(b.delay(1), Duration::from_millis(200));
        assert_eq!(b.delay(3), Duration::from_millis(800));
        assert_eq!(b.delay(4), Duration::from_secs(1));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(5), 0.05);
            assert!(
                d >= Duration::from_millis(4750) && d <= Duration::from_millis(5250),
                "{d:?}"
            );
        }
    }
}
