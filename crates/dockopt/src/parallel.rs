//! Work over many files on all cores, with a progress line on a terminal.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Runs with fewer files finish before a progress line would help.
const PROGRESS_FROM: usize = 200;
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Maps `f` over `items` on all cores, keeping the order. On a terminal, long runs show
/// `label N/M files` on stderr, erased at the end.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    label: &str,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let show = items.len() >= PROGRESS_FROM && std::io::stderr().is_terminal();
    let done = AtomicUsize::new(0);
    let last_print = Mutex::new(Instant::now());
    let step = |item: &T| {
        let result = f(item);
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if show
            && let Ok(mut last) = last_print.try_lock()
            && last.elapsed() >= PROGRESS_EVERY
        {
            *last = Instant::now();
            let _ = write!(std::io::stderr(), "\r{label} {n}/{} files", items.len());
        }
        result
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = items.len().div_ceil(threads).max(1);
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&step).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread panicked"))
            .collect()
    });
    if show {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
    results
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_across_threads() {
        let items: Vec<usize> = (0..1000).collect();
        let out = super::parallel_map(&items, "test", |i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }
}
