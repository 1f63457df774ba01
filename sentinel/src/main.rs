//! `picket-sentinel /path/to/sentinel.conf [--directive value ...]`
//!
//! Starts like `redis-sentinel`: the config file is loaded (fatal errors
//! reported on stderr as Redis reports them), a sentinel refuses to run
//! without a config file or with one it cannot write, and a missing
//! `sentinel myid` is generated and persisted at once. The monitor itself
//! is not wired in yet: after a successful start-up the binary logs
//! `config loaded` and exits 0. (Redis 7.0 has no `--test-config`-style
//! flag, so none is invented here.)

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use picket_sentinel::config::{parse_command_line, LoadError, SentinelConfig, SystemResolver};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Log levels as Redis marks them in its log lines.
#[derive(Clone, Copy)]
enum Level {
    Notice,
    Warning,
}

/// One log line in Redis's format: `pid:X dd Mon yyyy hh:mm:ss.mmm # msg`
/// (UTC; `X` is the sentinel role). `logfile` empty means stdout.
fn log(logfile: &str, level: Level, msg: &str) {
    let mark = match level {
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
fn timestamp() -> String {
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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(first) = args.first() {
        if first == "-v" || first == "--version" {
            println!("picket-sentinel v={VERSION} (Redis Sentinel 7.0.15 compatible)");
            return;
        }
        if first == "-h" || first == "--help" {
            eprintln!("Usage: ./picket-sentinel /path/to/sentinel.conf [options]");
            std::process::exit(1);
        }
    }
    let (path, options) = parse_command_line(&args);
    let mut config = match SentinelConfig::load_with(path.as_deref(), &options, &SystemResolver) {
        Ok(c) => c,
        Err(e @ LoadError::Fatal(_)) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
        Err(e) => {
            log("", Level::Warning, &e.to_string());
            std::process::exit(1);
        }
    };
    let logfile = config.server.logfile();
    match config.ensure_myid() {
        Ok(true) => log(
            &logfile,
            Level::Notice,
            "Sentinel new configuration saved on disk",
        ),
        Ok(false) => {}
        Err(e) => log(
            &logfile,
            Level::Warning,
            &format!(
                "WARNING: Sentinel was not able to save the new configuration on disk!!!: {}",
                picket_sentinel::config::strerror(&e)
            ),
        ),
    }
    log(
        &logfile,
        Level::Warning,
        &format!("Sentinel ID is {}", config.state.myid),
    );
    log(&logfile, Level::Notice, "config loaded");
}
