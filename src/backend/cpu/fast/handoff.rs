//! Runs one job on the backend's pool and waits for it without sleeping through short
//! jobs.
//!
//! Why: `ThreadPool::install` from a thread outside the pool parks the caller on a
//! condition variable until the job is done, and waking it again costs the run a futex
//! round trip: a 16×256 matmul took 24.6 µs per run here against ggml's 2.2 µs, and a
//! bare rayon microbench measured `install` of a trivial job at 22 µs median against 5.8
//! µs for `spawn` with the caller polling a flag. Inside a whole-model graph that is paid
//! once per token; a caller that runs small graphs (one op or one layer at a time, as an
//! engine that splits its graph over devices does) pays it on every call. So the caller
//! polls (with `yield_now`) for as long as the job is expected to take and parks only
//! after that. Polling is not free on a machine whose cores are all pool threads: a
//! caller polling for 50 µs made a 0.6 ms matmul (Q8_0 4096², from DRAM) 5–10 % slower
//! while it made a 0.6 MB one 25 % faster, so the executable polls only for runs it
//! has seen finish quickly ([`poll_budget`]) and parks at once for long ones, as
//! `install` does.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Runs longer than this are waited for by parking at once: the futex round trip is a
/// few percent of them, less than what polling takes from the workers.
const LONG_RUN: Duration = Duration::from_micros(100);

/// How long to poll for a job whose last run took `last`: a little longer than that for
/// short runs, none for long ones (and for the first, `last` = 0: a short poll).
pub fn poll_budget(last: Duration) -> Duration {
    if last > LONG_RUN {
        Duration::ZERO
    } else {
        last + last / 2 + Duration::from_micros(5)
    }
}

/// Where the job leaves `state` and its result, and how it wakes the caller.
struct Slot<T, R> {
    done: AtomicBool,
    value: Mutex<Option<(T, thread::Result<R>)>>,
    caller: Thread,
}

/// Moves `state` onto a thread of `pool`, runs `job` on it there and hands both back:
/// the state whatever happened, and the job's result or its panic (which the caller
/// re-raises after putting the state back). Runs inline when called from one of `pool`'s
/// own threads, where waiting for another would only tie this one up. The caller polls
/// for up to `poll` before it parks.
pub fn run_on_pool<T, R>(
    pool: &rayon::ThreadPool,
    mut state: T,
    poll: Duration,
    job: impl FnOnce(&mut T) -> R + Send + 'static,
) -> (T, thread::Result<R>)
where
    T: Send + 'static,
    R: Send + 'static,
{
    if pool.current_thread_index().is_some() {
        let result = catch_unwind(AssertUnwindSafe(|| job(&mut state)));
        return (state, result);
    }
    let slot = Arc::new(Slot {
        done: AtomicBool::new(false),
        value: Mutex::new(None),
        caller: thread::current(),
    });
    let filled = Arc::clone(&slot);
    pool.spawn(move || {
        let result = catch_unwind(AssertUnwindSafe(|| job(&mut state)));
        *filled.value.lock().unwrap_or_else(|e| e.into_inner()) = Some((state, result));
        filled.done.store(true, Ordering::Release);
        filled.caller.unpark();
    });
    let start = Instant::now();
    while !slot.done.load(Ordering::Acquire) {
        if start.elapsed() < poll {
            thread::yield_now();
        } else {
            // Spurious wake-ups and an unpark that came before this park both just loop.
            thread::park();
        }
    }
    let taken = slot.value.lock().unwrap_or_else(|e| e.into_inner()).take();
    taken.expect("the job fills the slot before it sets `done`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
    }

    #[test]
    fn the_state_comes_back_changed_with_the_result() {
        let pool = pool();
        let (state, result) = run_on_pool(&pool, vec![1, 2, 3], poll_budget(Duration::ZERO), |v| {
            v.push(4);
            v.iter().sum::<i32>()
        });
        assert_eq!(state, vec![1, 2, 3, 4]);
        assert_eq!(result.unwrap(), 10);
    }

    #[test]
    fn long_runs_park_at_once_and_short_ones_poll_a_little_longer_than_they_took() {
        assert_eq!(poll_budget(Duration::from_millis(2)), Duration::ZERO);
        let short = Duration::from_micros(20);
        assert!(poll_budget(short) > short && poll_budget(short) < 2 * short);
        assert!(poll_budget(Duration::ZERO) > Duration::ZERO);
    }

    #[test]
    fn a_long_job_wakes_the_parked_caller() {
        let pool = pool();
        let (_, result) = run_on_pool(&pool, (), Duration::from_micros(50), |_| {
            thread::sleep(Duration::from_millis(20));
            7
        });
        assert_eq!(result.unwrap(), 7);
    }

    #[test]
    fn a_panic_comes_back_to_the_caller_with_the_state() {
        let pool = pool();
        let (state, result) = run_on_pool(&pool, 5u32, Duration::ZERO, |s| {
            *s += 1;
            if *s > 0 {
                panic!("job failed");
            }
        });
        assert_eq!(state, 6, "the state is handed back even after a panic");
        assert!(result.is_err());
        // The pool still runs jobs afterwards.
        let (_, again) = run_on_pool(&pool, (), Duration::ZERO, |_| 1);
        assert_eq!(again.unwrap(), 1);
    }

    #[test]
    fn from_a_pool_thread_it_runs_inline() {
        let pool = pool();
        let inner = pool.install(|| {
            let here = rayon::current_thread_index();
            let (_, r) = run_on_pool(&pool, (), Duration::ZERO, move |_| {
                rayon::current_thread_index() == here
            });
            r.unwrap()
        });
        assert!(inner, "no second pool thread is tied up by a nested run");
    }
}
