//! Counters that every session thread adds to, kept in stripes.
//!
//! An add to one shared atomic moves its cache line to the adding core;
//! with sessions on a worker per core, every statement did that several
//! times (the decision histogram, its agent's count). Here each thread
//! adds to its own stripe, a cache line of its own, and a read (a scrape
//! of `/metrics`) sums the stripes. Counts are exact; only their
//! placement changes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Stripes per counter set: threads beyond this share stripes (still
/// correct, only less spread).
const STRIPES: usize = 8;

/// One thread's counters, alone on their cache line (128 bytes: adjacent
/// lines are fetched in pairs).
#[derive(Debug)]
#[repr(align(128))]
struct Stripe<const N: usize>([AtomicU64; N]);

/// `N` counters, striped by thread.
#[derive(Debug)]
pub struct Striped<const N: usize> {
    stripes: [Stripe<N>; STRIPES],
}

impl<const N: usize> Default for Striped<N> {
    fn default() -> Self {
        Striped {
            stripes: std::array::from_fn(|_| Stripe(std::array::from_fn(|_| AtomicU64::new(0)))),
        }
    }
}

impl<const N: usize> Striped<N> {
    /// Adds `n` to counter `i` (in this thread's stripe).
    pub fn add(&self, i: usize, n: u64) {
        self.stripes[stripe()].0[i].fetch_add(n, Ordering::Relaxed);
    }

    /// Counter `i`: the sum of its stripes.
    pub fn get(&self, i: usize) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0[i].load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

/// This thread's stripe: threads take stripes in turn as they first add.
fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.try_with(|s| *s).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn adds_from_many_threads_sum_exactly() {
        let counters = Arc::new(Striped::<2>::default());
        let threads: Vec<_> = (0..12)
            .map(|t| {
                let counters = counters.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        counters.add(0, 1);
                        counters.add(1, t);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(counters.get(0), 12_000);
        assert_eq!(counters.get(1), (0..12).sum::<u64>() * 1000);
    }

    #[test]
    fn each_stripe_has_a_cache_line_of_its_own() {
        assert_eq!(std::mem::align_of::<Stripe<11>>(), 128);
        assert!(std::mem::size_of::<Stripe<11>>() <= 128);
    }
}
