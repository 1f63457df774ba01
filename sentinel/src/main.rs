//! `picket-sentinel /path/to/sentinel.conf [--directive value ...]`
//!
//! Starts like `redis-sentinel`: the config file is loaded (fatal errors
//! reported on stderr as Redis reports them), a sentinel refuses to run
//! without a config file or with one it cannot write, and a missing
//! `sentinel myid` is generated and persisted at once. Then the core is
//! built from the config, the server listens on `port`/`bind`, the timer
//! starts, and the process runs until SHUTDOWN, SIGTERM or SIGINT.

use std::sync::Arc;

use picket_sentinel::config::{parse_command_line, LoadError, SentinelConfig, SystemResolver};
use picket_sentinel::io::{Event, Level};
use picket_sentinel::log::{log_to, Logger};
use picket_sentinel::persist::build_core;
use picket_sentinel::runtime::{now_ms, Sentinel};
use picket_sentinel::server;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where Redis writes its pid when daemonized without a `pidfile`
/// (`CONFIG_DEFAULT_PID_FILE`).
const DEFAULT_PIDFILE: &str = "/var/run/redis.pid";

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
        Err(LoadError::Acl(lines)) => {
            for l in lines {
                log_to("", Level::Warning, &l);
            }
            std::process::exit(1);
        }
        Err(e) => {
            log_to("", Level::Warning, &e.to_string());
            std::process::exit(1);
        }
    };
    // redis-server's main(): daemonize right after the config is checked,
    // before the listeners exist (the runtime's threads too: fork keeps
    // only the calling thread)
    let background = config.server.daemonize();
    if background {
        daemonize();
    }
    let logger = Logger::new(config.server.logfile(), &config.server.loglevel());
    for w in std::mem::take(&mut config.state.load_warnings) {
        logger.log(Level::Warning, &w);
    }
    if let Err(e) = std::env::set_current_dir(config.server.dir()) {
        logger.log(
            Level::Warning,
            &format!("Can't chdir to '{}': {e}", config.server.dir().display()),
        );
    }
    match config.ensure_myid() {
        Ok(true) => logger.log(Level::Notice, "Sentinel new configuration saved on disk"),
        Ok(false) => {}
        Err(e) => logger.log(
            Level::Warning,
            &format!(
                "WARNING: Sentinel was not able to save the new configuration on disk!!!: {}",
                picket_sentinel::config::strerror(&e)
            ),
        ),
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            logger.log(Level::Warning, &format!("Can't start the runtime: {e}"));
            std::process::exit(1);
        }
    };
    let code = rt.block_on(run(config, logger, background));
    std::process::exit(code);
}

/// `daemonize()` of server.c: fork, the parent exits 0, the child starts
/// a new session with stdin/stdout/stderr on /dev/null.
fn daemonize() {
    // SAFETY: called before any thread is started; the child only calls
    // async-signal-safe functions before returning to normal code
    unsafe {
        match libc::fork() {
            -1 => return,
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0);
        if fd != -1 {
            libc::dup2(fd, libc::STDIN_FILENO);
            libc::dup2(fd, libc::STDOUT_FILENO);
            libc::dup2(fd, libc::STDERR_FILENO);
            if fd > libc::STDERR_FILENO {
                libc::close(fd);
            }
        }
    }
}

async fn run(config: SentinelConfig, logger: Logger, background: bool) -> i32 {
    let port = config.server.port();
    let listeners = match server::bind(&config.server.bind(), port).await {
        Ok(l) => l,
        Err(msg) => {
            logger.log(Level::Warning, &msg);
            return 1;
        }
    };
    logger.log(
        Level::Notice,
        &format!("Running mode=sentinel, port={port}."),
    );
    let core = build_core(
        &config.state,
        port,
        now_ms(),
        Box::new(<rand::rngs::StdRng as rand::SeedableRng>::from_entropy()),
    );
    let pidfile = config.server.pidfile();
    let s = Sentinel::new(core, config, logger);
    // createPidFile, after the listeners are bound (initServer)
    if background || pidfile.is_some() {
        s.create_pidfile(pidfile.as_deref().unwrap_or(DEFAULT_PIDFILE));
    }
    {
        let g = s.lock();
        s.logger
            .log(Level::Warning, &format!("Sentinel ID is {}", g.core.g.myid));
        // sentinelGenerateInitialMonitorEvents
        for m in g.core.masters.values() {
            s.event(&Event {
                level: Level::Warning,
                name: "+monitor".into(),
                text: format!(
                    "{} quorum {}",
                    m.details_of(&m.inst, g.core.g.announce_hostnames),
                    m.cfg.quorum
                ),
            });
        }
    }
    server::serve(Arc::clone(&s), listeners).await;
    tokio::spawn(Arc::clone(&s).run_timer());
    wait_for_signal(&s).await;
    0
}

/// Resolves on SIGTERM/SIGINT (after the shutdown sequence) or once
/// SHUTDOWN ran.
async fn wait_for_signal(s: &Arc<Sentinel>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        s.stopped().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {
            s.logger.log(Level::Warning, "Received SIGTERM scheduling shutdown...");
            server::shutdown(s, "User requested shutdown...");
        }
        _ = int.recv() => {
            s.logger.log(Level::Warning, "Received SIGINT scheduling shutdown...");
            server::shutdown(s, "User requested shutdown...");
        }
        _ = s.stopped() => {}
    }
}
