//! Log lines in Redis's format: `pid:X dd Mon yyyy hh:mm:ss.mmm <mark> msg`
//! (UTC; `X` is the sentinel role; marks `.` debug, `-` verbose, `*`
//! notice, `#` warning), to the `logfile` or stdout, filtered by
//! `loglevel`.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::io::Level;

/// Where and how much to log (`logfile`, `loglevel`).
#[derive(Clone, Debug)]
pub struct Logger {
    /// Empty means stdout.
    pub file: String,
    /// Lines below this level are dropped.
    pub min: Level,
}

impl Logger {
    /// A logger for `logfile` at `loglevel` (`debug`, `verbose`, `notice`,
    /// `warning`; anything else counts as notice).
    pub fn new(file: String, loglevel: &str) -> Logger {
        let min = match loglevel {
            "debug" => Level::Debug,
            "verbose" => Level::Verbose,
            "warning" => Level::Warning,
            _ => Level::Notice,
        };
        Logger { file, min }
    }

    /// Writes one line if `level` passes the filter.
    pub fn log(&self, level: Level, msg: &str) {
        if level < self.min {
            return;
        }
        log_to(&self.file, level, msg);
    }
}

/// One log line to `logfile` (empty = stdout), unfiltered.
pub fn log_to(logfile: &str, level: Level, msg: &str) {
    let mark = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        Level::Warning => '#',
    };
    let line = format!(
        "{}:X {} {} {}\n",
        std::process::id(),
        timestamp(),
        mark,
        msg
    );
    if logfile.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    } else if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(logfile)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// `25 Nov 2026 15:34:42.254` for now, in UTC.
pub fn timestamp() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}
