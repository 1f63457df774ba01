//! `picket-server [/path/to/redis.conf] [--directive value ...]`

use std::sync::Arc;

use picket_common::conf::repr_arg;
use picket_server::config::Config;
use picket_server::state::Shared;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn usage() -> ! {
    eprintln!(
        "Usage: ./picket-server [/path/to/redis.conf] [options] [-]\n       \
./picket-server - (read config from stdin)\n       \
./picket-server -v or --version\n       \
./picket-server -h or --help\n\n\
Examples:\n       \
./picket-server (run the server with default conf)\n       \
./picket-server /etc/redis/6379.conf\n       \
./picket-server --port 7777\n       \
./picket-server /etc/myredis.conf --loglevel verbose -\n       \
./picket-server --port 7777 --replicaof 127.0.0.1 8888"
    );
    std::process::exit(1);
}

/// Builds the config text the way redis-server does: the file, then one
/// line per `--option`, values quoted like `sdscatrepr`.
fn build_config(args: &[String]) -> anyhow::Result<(Config, Option<String>)> {
    let mut idx = 0;
    let mut file: Option<String> = None;
    if let Some(first) = args.first() {
        if !first.starts_with("--") && first != "-" {
            file = Some(first.clone());
            idx = 1;
        }
    }
    let mut options = String::new();
    let mut from_stdin = false;
    let mut j = idx;
    while j < args.len() {
        let a = &args[j];
        if a == "-" {
            from_stdin = true;
        } else if let Some(name) = a.strip_prefix("--") {
            if !options.is_empty() {
                options.push('\n');
            }
            options.push_str(name);
            options.push(' ');
        } else {
            options.push_str(&repr_arg_always(a));
            options.push(' ');
        }
        j += 1;
    }
    let mut text = String::new();
    if let Some(f) = &file {
        match std::fs::read_to_string(f) {
            Ok(c) => text.push_str(&c),
            Err(e) => {
                eprintln!("Fatal error, can't open config file '{}': {}", f, e);
                std::process::exit(1);
            }
        }
    }
    if from_stdin {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        text.push('\n');
        text.push_str(&s);
    }
    text.push('\n');
    text.push_str(&options);
    let mut config = Config::default();
    if let Some(f) = &file {
        config.config_file = Some(std::fs::canonicalize(f).unwrap_or_else(|_| f.into()));
    }
    if let Err(e) = config.load_string(&text, None, 0) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    Ok((config, file))
}

fn repr_arg_always(a: &str) -> String {
    let r = repr_arg(a.as_bytes());
    if r.starts_with('"') {
        r
    } else {
        format!("\"{r}\"")
    }
}

fn init_logging(config: &Config) {
    let level = match config.get("loglevel").unwrap_or("notice") {
        "debug" => "debug",
        "verbose" => "info",
        "notice" => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PICKET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let logfile = config.get("logfile").unwrap_or("").to_string();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if logfile.is_empty() {
        builder.init();
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&logfile)
        {
            Ok(f) => builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
                .init(),
            Err(e) => {
                eprintln!("Can't open the log file: {e}");
                std::process::exit(1);
            }
        }
    }
}

fn daemonize() {
    // fork before any thread exists; the parent exits, the child goes on
    unsafe {
        match libc::fork() {
            -1 => {
                eprintln!("fork failed");
                std::process::exit(1);
            }
            0 => {}
            _ => std::process::exit(0),
        }
        libc::setsid();
        let devnull = std::ffi::CString::new("/dev/null").unwrap_or_default();
        let fd = libc::open(devnull.as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}

/// `picket-server --check-rdb FILE`: like redis-check-rdb, reads the whole
/// file and reports the first bad position. Exit status 0 when it is whole.
fn check_rdb(path: Option<&str>) -> i32 {
    let Some(path) = path else {
        eprintln!("Usage: picket-server --check-rdb <rdb-file-name>");
        return 1;
    };
    println!("[offset 0] Checking RDB file {path}");
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            println!("Cannot check RDB that is a directory or can't be opened: {e}");
            return 1;
        }
    };
    match picket_server::persistence::rdb::read_rdb(&data) {
        Ok(loaded) => {
            let now = picket_server::state::now_ms();
            let keys: usize = loaded.dbs.values().map(|v| v.len()).sum();
            let expires = loaded
                .dbs
                .values()
                .flatten()
                .filter(|k| k.expire.is_some())
                .count();
            let expired = loaded
                .dbs
                .values()
                .flatten()
                .filter(|k| k.expire.is_some_and(|at| at <= now))
                .count();
            println!("[offset {}] \\o/ RDB looks OK! \\o/", data.len());
            println!("[info] {keys} keys read");
            println!("[info] {expires} expires");
            println!("[info] {expired} already expired");
            0
        }
        Err(e) => {
            println!("--- RDB ERROR DETECTED ---");
            println!("{e}");
            1
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(a) = args.first() {
        match a.as_str() {
            "-v" | "--version" => {
                println!("Picket server v={VERSION} redis_version=7.0.15 bits=64");
                return;
            }
            "-h" | "--help" => usage(),
            "--check-rdb" => std::process::exit(check_rdb(args.get(1).map(String::as_str))),
            "--check-aof" => std::process::exit(picket_server::persistence::aof_check::run(
                &args[1..],
                &mut std::io::stdout(),
                &mut std::io::stdin().lock(),
            )),
            _ => {}
        }
    }
    let (mut config, _file) = match build_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let daemon = config.get("daemonize") == Some("yes");
    if daemon {
        daemonize();
        if config.get("pidfile").unwrap_or("").is_empty() {
            let _ = config.set("pidfile", &["/var/run/redis.pid".into()], true);
        }
    }
    init_logging(&config);
    let pidfile = config.get("pidfile").unwrap_or("").to_string();
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{}\n", std::process::id())) {
            tracing::warn!("Failed to write PID file: {e}");
        }
    }
    // io-threads maps to the runtime's worker threads. With 1 (Redis's
    // default) everything runs on one thread, like Redis's event loop: no
    // lock contention and no cross-thread wake-ups (see
    // docs/execution-model.md for the measurement).
    let io_threads: usize = config
        .get("io-threads")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let rt = if io_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(picket_server::server::before_sleep)
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(io_threads)
            .enable_all()
            .on_thread_park(picket_server::server::before_sleep)
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("can't start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = rt.block_on(async move {
        let port = config.port;
        let bind = config.bind.clone();
        let backlog = config
            .get("tcp-backlog")
            .and_then(|v| v.parse().ok())
            .unwrap_or(511);
        let listeners = match picket_server::server::bind_all(&bind, port, backlog) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("{e}");
                return 1;
            }
        };
        // ACLLoadUsersAtStartup: the `user` lines or the aclfile
        let users = match picket_server::cmd::acl::load_users(&config) {
            Ok(u) => u,
            Err(lines) => {
                // logged, as Redis does (nothing on stderr)
                for l in lines {
                    tracing::warn!("{l}");
                }
                return 1;
            }
        };
        let shared: Arc<Shared> = Shared::new(config);
        shared.lock().acl = users;
        // Load the data set on a thread while the server already listens
        // and answers -LOADING (as Redis does): the AOF when appendonly is
        // on, else dir/dbfilename. A corrupt file stops the server with its
        // position rather than load part of it.
        // `replicaof` in the config: a replica from the start (the link
        // starts once the data set is loaded)
        {
            let mut st = shared.lock();
            if let Some((h, p)) = st.config.replicaof() {
                picket_server::replication::replica::set_master(&mut st, h, p);
                st.repl.cached = false;
            }
        }
        let aof_on = shared.lock().config.get("appendonly") == Some("yes");
        if aof_on {
            let plan = {
                let mut st = shared.lock();
                st.loading = true;
                picket_server::persistence::aof::prepare(&st)
            };
            let plan = match plan {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            };
            let loader_shared = shared.clone();
            std::thread::spawn(move || {
                let t = std::time::Instant::now();
                let res = picket_server::persistence::aof::load(&loader_shared, &plan)
                    .and_then(|report| {
                        let mut st = loader_shared.lock();
                        picket_server::persistence::aof::open(&loader_shared, &mut st, plan)?;
                        st.loading = false;
                        Ok(report)
                    });
                match res {
                    Ok(r) => tracing::info!(
                        "DB loaded from append only file: {:.3} seconds ({} keys from the base, {} commands)",
                        t.elapsed().as_secs_f64(),
                        r.keys_from_base,
                        r.commands
                    ),
                    Err(e) => {
                        tracing::error!("{e}");
                        eprintln!("{e}");
                        std::process::exit(1);
                    }
                }
            });
        }
        let path = {
            let mut st = shared.lock();
            let p = picket_server::persistence::rdb_path(&st);
            if !aof_on {
                st.loading = p.exists();
            }
            p
        };
        if !aof_on && shared.lock().loading {
            let ndb = shared.lock().dbs.len();
            // a replica keeps keys that expired on disk: its master decides
            let now = if shared.lock().repl.master.is_some() {
                i64::MIN
            } else {
                picket_server::state::now_ms()
            };
            let loader_shared = shared.clone();
            std::thread::spawn(move || {
                let t = std::time::Instant::now();
                match picket_server::persistence::load_file(&path, ndb, now) {
                    Ok(res) => {
                        let mut st = loader_shared.lock();
                        if let Some((dbs, stats, repl)) = res {
                            st.dbs = dbs;
                            if st.repl.master.is_some() {
                                picket_server::replication::replica::set_keep_expired(
                                    &mut st, true,
                                );
                            }
                            st.rdb_last_load = stats;
                            if let Some(info) = repl {
                                let size = st
                                    .config
                                    .get("repl-backlog-size")
                                    .and_then(|v| v.parse().ok())
                                    .unwrap_or(1 << 20);
                                st.repl.restore(&info, size);
                            }
                            tracing::info!(
                                "DB loaded from disk: {} keys ({} expired skipped) in {:?}",
                                stats.loaded,
                                stats.expired,
                                t.elapsed()
                            );
                        }
                        st.loading = false;
                    }
                    Err(e) => {
                        tracing::error!("{e}");
                        eprintln!("{e}");
                        std::process::exit(1);
                    }
                }
            });
        }
        tracing::info!(
            pid = std::process::id(),
            port,
            "Picket server started (Redis 7.0.15 compatible), run_id {}",
            shared.run_id
        );
        tracing::info!("Ready to accept connections tcp");
        match picket_server::server::run(shared, listeners).await {
            Ok(()) => 0,
            Err(e) => {
                tracing::error!("{e}");
                1
            }
        }
    });
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    std::process::exit(code);
}
