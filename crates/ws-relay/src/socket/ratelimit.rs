//! A token bucket per connection: `rate` actions per second on average, `burst` at once.
//! Owned by the connection's reader, so no locking.

use std::time::Instant;

pub(crate) struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate: u32, burst: u32) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            rate: f64::from(rate.max(1)),
            capacity,
            tokens: capacity,
            last: Instant::now(),
        }
    }

    /// Takes one token; `false` when the bucket is empty.
    pub(crate) fn take(&mut self) -> bool {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut b = TokenBucket::new(10, 5);
        b.last = start;
        for _ in 0..5 {
            assert!(b.take_at(start));
        }
        assert!(!b.take_at(start));
        // 10/s: one token every 100 ms.
        assert!(b.take_at(start + Duration::from_millis(100)));
        assert!(!b.take_at(start + Duration::from_millis(150)));
        // Refills up to the burst, not beyond.
        let later = start + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(b.take_at(later));
        }
        assert!(!b.take_at(later));
    }
}
