//! INFO: the sections and field names Redis 7.0 prints.

use std::fmt::Write;

use crate::state::{Shared, State};

/// Sections INFO prints with no argument (and "default").
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
/// Sections of "all" (default + commandstats + latencystats).
const ALL: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// Memory figures from the allocator and the kernel.
pub struct MemStats {
    /// Bytes handed out by malloc (glibc mallinfo2: in-use + mmapped).
    pub used: u64,
    /// Resident set size.
    pub rss: u64,
}

/// Reads allocator and RSS figures.
pub fn mem_stats() -> MemStats {
    // SAFETY: mallinfo2 only reads allocator statistics.
    let mi = unsafe { libc::mallinfo2() };
    let used = (mi.uordblks + mi.hblkhd) as u64;
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0);
    MemStats { used, rss }
}

/// Formats bytes like Redis's `bytesToHuman`.
pub fn human(n: u64) -> String {
    let d = n as f64;
    if n < 1024 {
        format!("{n}B")
    } else if n < 1024 * 1024 {
        format!("{:.2}K", d / 1024.0)
    } else if n < 1024 * 1024 * 1024 {
        format!("{:.2}M", d / (1024.0 * 1024.0))
    } else if n < 1024u64.pow(4) {
        format!("{:.2}G", d / 1024f64.powi(3))
    } else {
        format!("{:.2}T", d / 1024f64.powi(4))
    }
}

fn rusage() -> (f64, f64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

/// Builds the INFO text for the requested section names.
pub fn info(shared: &Shared, st: &State, args: &[String], current_clients: usize) -> String {
    let mut wanted: Vec<&str> = Vec::new();
    let mut everything = false;
    if args.is_empty() {
        wanted.extend(DEFAULT);
    }
    for a in args {
        match a.as_str() {
            "default" => wanted.extend(DEFAULT),
            "all" => wanted.extend(ALL),
            "everything" => {
                everything = true;
                wanted.extend(ALL);
            }
            other => {
                if let Some(s) = ALL.iter().find(|s| **s == other) {
                    wanted.push(s);
                }
            }
        }
    }
    let _ = everything;
    let mut out = String::new();
    for sec in ALL {
        if !wanted.contains(sec) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(&mut out, sec, shared, st, current_clients);
    }
    out
}

fn section(o: &mut String, sec: &str, shared: &Shared, st: &State, nclients: usize) {
    let up = shared.started.elapsed().as_secs();
    match sec {
        "server" => {
            let _ = write!(
                o,
                "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:7069636b65740000\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\npicket_version:{}\r\n",
                os_line(),
                std::process::id(),
                shared.run_id,
                st.config.port,
                crate::state::now_us(),
                up,
                up / 86400,
                st.config.hz,
                st.config.hz,
                (crate::state::now_ms() / 1000) & ((1 << 24) - 1),
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                st.config.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                env!("CARGO_PKG_VERSION"),
            );
        }
        "clients" => {
            let blocked = st.blocked.len();
            let _ = write!(
                o,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:{}\r\n",
                nclients,
                st.config.maxclients,
                st.stats.client_recent_max_input_buffer,
                st.stats.client_recent_max_output_buffer,
                blocked,
                blocked,
            );
        }
        "memory" => {
            let m = mem_stats();
            let total = total_memory();
            let frag = if m.used > 0 {
                m.rss as f64 / m.used as f64
            } else {
                0.0
            };
            let _ = write!(
                o,
                "# Memory\r\nused_memory:{u}\r\nused_memory_human:{uh}\r\nused_memory_rss:{r}\r\nused_memory_rss_human:{rh}\r\nused_memory_peak:{u}\r\nused_memory_peak_human:{uh}\r\nused_memory_peak_perc:100.00%\r\nused_memory_overhead:0\r\nused_memory_startup:0\r\nused_memory_dataset:{u}\r\nused_memory_dataset_perc:100.00%\r\nallocator_allocated:{u}\r\nallocator_active:{u}\r\nallocator_resident:{r}\r\ntotal_system_memory:{t}\r\ntotal_system_memory_human:{th}\r\nused_memory_lua:0\r\nused_memory_vm_eval:0\r\nused_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\nused_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\nmaxmemory:{mm}\r\nmaxmemory_human:{mmh}\r\nmaxmemory_policy:{pol}\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:{fr:.2}\r\nallocator_rss_bytes:{rb}\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{fr:.2}\r\nmem_fragmentation_bytes:{rb}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:0\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:libc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
                u = m.used,
                uh = human(m.used),
                r = m.rss,
                rh = human(m.rss),
                t = total,
                th = human(total),
                mm = st.config.maxmemory,
                mmh = human(st.config.maxmemory.max(0) as u64),
                pol = st.config.maxmemory_policy,
                fr = frag,
                rb = m.rss as i64 - m.used as i64,
            );
        }
        "persistence" => {
            let _ = write!(
                o,
                "# Persistence\r\nloading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\n{}",
                st.loading as u8,
                st.dirty,
                st.bgsave.is_some() as u8,
                st.lastsave,
                if st.rdb_last_save_ok { "ok" } else { "err" },
                st.rdb_last_bgsave_time_sec,
                st.bgsave.map(|b| b.started.elapsed().as_secs() as i64).unwrap_or(-1),
                st.rdb_saves,
                st.rdb_last_load.expired,
                st.rdb_last_load.loaded,
                crate::persistence::aof::info_fields(st),
            );
        }
        "stats" => {
            let s = &st.stats;
            let ops = ops_per_sec(st);
            let _ = write!(
                o,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:{:.2}\r\nexpired_time_cap_reached_count:{}\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:{}\r\ntotal_forks:{}\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:{}\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
                s.total_connections_received,
                s.total_commands_processed,
                ops,
                s.total_net_input_bytes,
                s.total_net_output_bytes,
                s.rejected_connections,
                st.repl.sync_full,
                st.repl.sync_partial_ok,
                st.repl.sync_partial_err,
                s.expired_keys,
                s.expired_stale_perc * 100.0,
                s.expired_time_cap_reached_count,
                s.keyspace_hits,
                s.keyspace_misses,
                st.pubsub.channels.len(),
                st.pubsub.patterns.len(),
                st.pubsub.shard_channels.len(),
                st.latest_fork_usec,
                st.total_forks,
                s.unexpected_error_replies,
                s.total_error_replies,
                s.total_reads_processed,
                s.total_writes_processed,
            );
        }
        "replication" => o.push_str(&crate::replication::info(st)),
        "cpu" => {
            let (sys, user) = rusage();
            let _ = write!(
                o,
                "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{sys:.6}\r\nused_cpu_user_main_thread:{user:.6}\r\n"
            );
        }
        "modules" => o.push_str("# Modules\r\n"),
        "commandstats" => {
            o.push_str("# Commandstats\r\n");
            for (name, c) in &st.command_stats {
                if c.calls == 0 && c.rejected_calls == 0 && c.failed_calls == 0 {
                    continue;
                }
                let per = if c.calls > 0 {
                    c.usec as f64 / c.calls as f64
                } else {
                    0.0
                };
                let _ = write!(o, "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n", name, c.calls, c.usec, per, c.rejected_calls, c.failed_calls);
            }
        }
        "errorstats" => {
            o.push_str("# Errorstats\r\n");
            for (name, n) in &st.error_stats {
                let _ = write!(o, "errorstat_{}:count={}\r\n", name, n);
            }
        }
        "latencystats" => {
            o.push_str("# Latencystats\r\n");
            // only while tracking is on, as in Redis; (Redis walks a hash
            // table; by name here)
            let mut names: Vec<&String> = match st.config.latency_tracking {
                true => st.latency.keys().collect(),
                false => Vec::new(),
            };
            names.sort();
            for name in names {
                let line = crate::latency::percentiles_line(
                    &st.latency[name],
                    &st.config.latency_percentiles,
                );
                let _ = write!(o, "latency_percentiles_usec_{name}:{line}\r\n");
            }
        }
        "cluster" => o.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            o.push_str("# Keyspace\r\n");
            for (i, db) in st.dbs.iter().enumerate() {
                if db.is_empty() {
                    continue;
                }
                let _ = write!(
                    o,
                    "db{}:keys={},expires={},avg_ttl={}\r\n",
                    i,
                    db.len(),
                    db.expires.len(),
                    db.avg_ttl
                );
            }
        }
        _ => {}
    }
}

fn ops_per_sec(st: &State) -> u64 {
    let s = &st.stats.ops_samples;
    match (s.front(), s.back()) {
        (Some(a), Some(b)) if b.0 > a.0 => {
            let secs = (b.0 - a.0).as_secs_f64();
            ((b.1 - a.1) as f64 / secs) as u64
        }
        _ => 0,
    }
}

fn os_line() -> String {
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname fills the struct we own.
    if unsafe { libc::uname(&mut u) } != 0 {
        return "Linux".into();
    }
    let f = |a: &[libc::c_char]| {
        a.iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8 as char)
            .collect::<String>()
    };
    format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
}

fn total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                })
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}
