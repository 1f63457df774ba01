//! Reply shapes (instance maps, INFO's Sentinel section, INFO-CACHE,
//! CONFIG GET, DEBUG) and the settings commands (SET, CONFIG SET,
//! SIMULATE-FAILURE) against Redis 7.0.15's fields, texts and rules.

use picket_common::resp::Frame;

use super::kit::*;
use crate::commands::{SimulateFailure, SimulateFailureOutcome};
use crate::instance::{Addr, FailoverState};
use crate::io::{events, Action};
use crate::replies::{self, ScriptStats};
use crate::state::CommandError;

/// Field names of a map, in order.
fn keys(f: &Frame) -> Vec<String> {
    match f {
        Frame::Map(pairs) => pairs.iter().map(|(k, _)| text(k)).collect(),
        other => panic!("not a map: {other:?}"),
    }
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

/// The value of `key` (every value must be a bulk string).
fn get(f: &Frame, key: &str) -> String {
    match f {
        Frame::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| text(k) == key)
            .map(|(_, v)| text(v))
            .unwrap_or_else(|| panic!("no field {key}")),
        other => panic!("not a map: {other:?}"),
    }
}

fn items(f: &Frame) -> &[Frame] {
    match f {
        Frame::Array(v) => v,
        other => panic!("not an array: {other:?}"),
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Field names of Redis 7.0.15's `SENTINEL MASTER` for a healthy master
/// (captured from redis-sentinel).
const MASTER_FIELDS: [&str; 20] = [
    "name",
    "ip",
    "port",
    "runid",
    "flags",
    "link-pending-commands",
    "link-refcount",
    "last-ping-sent",
    "last-ok-ping-reply",
    "last-ping-reply",
    "down-after-milliseconds",
    "info-refresh",
    "role-reported",
    "role-reported-time",
    "config-epoch",
    "num-slaves",
    "num-other-sentinels",
    "quorum",
    "failover-timeout",
    "parallel-syncs",
];

const REPLICA_FIELDS: [&str; 21] = [
    "name",
    "ip",
    "port",
    "runid",
    "flags",
    "link-pending-commands",
    "link-refcount",
    "last-ping-sent",
    "last-ok-ping-reply",
    "last-ping-reply",
    "down-after-milliseconds",
    "info-refresh",
    "role-reported",
    "role-reported-time",
    "master-link-down-time",
    "master-link-status",
    "master-host",
    "master-port",
    "slave-priority",
    "slave-repl-offset",
    "replica-announced",
];

const SENTINEL_FIELDS: [&str; 14] = [
    "name",
    "ip",
    "port",
    "runid",
    "flags",
    "link-pending-commands",
    "link-refcount",
    "last-ping-sent",
    "last-ok-ping-reply",
    "last-ping-reply",
    "down-after-milliseconds",
    "last-hello-message",
    "voted-leader",
    "voted-leader-epoch",
];

/// One sentinel watching a live master with replicas 6380 and 6381 and
/// knowing sentinels `b` and `c`.
fn watched() -> Fx {
    let mut fx = Fx::new(2);
    fx.add_replicas(&[6380, 6381]);
    fx.add_sentinels("bc");
    fx.tick(100);
    fx.alive(&r(6380), replica_info('n', &master_addr(), true, 900, 100));
    fx.alive(&r(6381), replica_info('o', &master_addr(), false, 800, 0));
    fx.alive(&m(), master_info('m', &[6380, 6381]));
    for c in ['b', 'c'] {
        fx.healthy(&s(c), None);
    }
    fx.run(1000);
    fx
}

#[test]
fn master_map_has_redis_fields_in_order_with_bulk_values() {
    let fx = watched();
    let mm = replies::master(&fx.s, MASTER, fx.now).unwrap();
    assert_eq!(keys(&mm), strs(&MASTER_FIELDS));
    assert_eq!(get(&mm, "name"), MASTER);
    assert_eq!(get(&mm, "ip"), "10.0.0.1");
    assert_eq!(get(&mm, "port"), "6370");
    assert_eq!(get(&mm, "runid"), runid('m'));
    assert_eq!(get(&mm, "flags"), "master");
    assert_eq!(get(&mm, "link-refcount"), "1");
    assert_eq!(get(&mm, "down-after-milliseconds"), DOWN_AFTER.to_string());
    assert_eq!(get(&mm, "role-reported"), "master");
    assert_eq!(get(&mm, "num-slaves"), "2");
    assert_eq!(get(&mm, "num-other-sentinels"), "2");
    assert_eq!(get(&mm, "quorum"), "2");
    assert_eq!(get(&mm, "failover-timeout"), FAILOVER_TIMEOUT.to_string());
    assert_eq!(get(&mm, "parallel-syncs"), "1");
    let i = &fx.master().inst;
    assert_eq!(
        get(&mm, "last-ok-ping-reply"),
        (fx.now - i.link.get().last_avail_time).to_string()
    );
    assert_eq!(
        get(&mm, "info-refresh"),
        (fx.now - i.info_refresh).to_string()
    );
}

#[test]
fn timers_that_never_ran_show_zero() {
    let mut fx = Fx::new(2);
    fx.now += 700;
    let i = &mut fx.master_mut().inst;
    i.link.get().act_ping_time = 0;
    let mm = replies::master(&fx.s, MASTER, fx.now).unwrap();
    assert_eq!(get(&mm, "last-ping-sent"), "0");
    assert_eq!(get(&mm, "info-refresh"), "0");
    // Never connected: Redis shows the creation time's age.
    assert_eq!(get(&mm, "last-ok-ping-reply"), "700");
    assert_eq!(get(&mm, "runid"), "");
    assert_eq!(get(&mm, "flags"), "master,disconnected");
}

#[test]
fn down_and_failing_master_adds_state_and_down_times_in_place() {
    let mut fx = watched();
    let now = fx.now;
    let mst = fx.master_mut();
    mst.inst.flags.s_down = true;
    mst.inst.flags.o_down = true;
    mst.inst.flags.failover_in_progress = true;
    mst.inst.flags.force_failover = true;
    mst.inst.s_down_since_time = now - 4000;
    mst.inst.o_down_since_time = now - 3000;
    mst.failover_state = FailoverState::WaitPromotion;
    mst.cfg.notification_script = Some("/bin/n.sh".into());
    mst.cfg.client_reconfig_script = Some("/bin/r.sh".into());
    let mm = replies::master(&fx.s, MASTER, fx.now).unwrap();
    let mut want = strs(&MASTER_FIELDS);
    want.insert(7, "failover-state".into());
    let pos = want
        .iter()
        .position(|k| k == "down-after-milliseconds")
        .unwrap();
    want.insert(pos, "o-down-time".into());
    want.insert(pos, "s-down-time".into());
    want.push("notification-script".into());
    want.push("client-reconfig-script".into());
    assert_eq!(keys(&mm), want);
    assert_eq!(
        get(&mm, "flags"),
        "s_down,o_down,master,failover_in_progress,force_failover"
    );
    assert_eq!(get(&mm, "failover-state"), "wait_promotion");
    assert_eq!(get(&mm, "s-down-time"), "4000");
    assert_eq!(get(&mm, "o-down-time"), "3000");
    assert_eq!(get(&mm, "notification-script"), "/bin/n.sh");
    assert_eq!(get(&mm, "client-reconfig-script"), "/bin/r.sh");
}

#[test]
fn replica_map_has_redis_fields_in_order() {
    let fx = watched();
    let reps = replies::replicas(&fx.s, MASTER, fx.now).unwrap();
    let reps = items(&reps);
    assert_eq!(reps.len(), 2);
    for rep in reps {
        assert_eq!(keys(rep), strs(&REPLICA_FIELDS));
        assert_eq!(get(rep, "flags"), "slave");
        assert_eq!(get(rep, "role-reported"), "slave");
        assert_eq!(get(rep, "master-host"), "10.0.0.1");
        assert_eq!(get(rep, "master-port"), "6370");
        assert_eq!(get(rep, "replica-announced"), "1");
    }
    assert_eq!(get(&reps[0], "name"), "10.0.0.2:6380");
    assert_eq!(get(&reps[0], "master-link-status"), "ok");
    assert_eq!(get(&reps[0], "slave-repl-offset"), "900");
    assert_eq!(get(&reps[0], "slave-priority"), "100");
    assert_eq!(get(&reps[1], "master-link-status"), "err");
    assert_eq!(get(&reps[1], "slave-priority"), "0");
}

#[test]
fn unknown_replica_master_shows_question_mark() {
    let mut fx = Fx::new(1);
    fx.add_replicas(&[6380]);
    let reps = replies::replicas(&fx.s, MASTER, fx.now).unwrap();
    assert_eq!(get(&items(&reps)[0], "master-host"), "?");
    assert_eq!(get(&items(&reps)[0], "master-port"), "0");
    assert_eq!(get(&items(&reps)[0], "flags"), "slave,disconnected");
}

#[test]
fn unannounced_replicas_are_hidden_but_counted() {
    let mut fx = watched();
    let name = "10.0.0.3:6381";
    fx.master_mut()
        .replicas
        .get_mut(name)
        .unwrap()
        .replica_announced = false;
    let reps = replies::replicas(&fx.s, MASTER, fx.now).unwrap();
    assert_eq!(items(&reps).len(), 1);
    assert_eq!(get(&items(&reps)[0], "name"), "10.0.0.2:6380");
    let mm = replies::master(&fx.s, MASTER, fx.now).unwrap();
    assert_eq!(get(&mm, "num-slaves"), "2");
    assert!(replies::info_section(&fx.s, ScriptStats::default(), fx.now).contains(",slaves=2,"));
}

#[test]
fn sentinel_map_has_redis_fields_in_order() {
    let mut fx = watched();
    fx.master_mut()
        .sentinels
        .get_mut(&runid('c'))
        .unwrap()
        .leader = Some(runid('b'));
    fx.master_mut()
        .sentinels
        .get_mut(&runid('c'))
        .unwrap()
        .leader_epoch = 7;
    let ss = replies::sentinels(&fx.s, MASTER, fx.now).unwrap();
    let ss = items(&ss);
    assert_eq!(ss.len(), 2);
    for x in ss {
        assert_eq!(keys(x), strs(&SENTINEL_FIELDS));
        assert_eq!(get(x, "flags"), "sentinel");
    }
    assert_eq!(get(&ss[0], "name"), runid('b'));
    assert_eq!(get(&ss[0], "runid"), runid('b'));
    assert_eq!(get(&ss[0], "voted-leader"), "?");
    assert_eq!(get(&ss[0], "voted-leader-epoch"), "0");
    assert_eq!(get(&ss[1], "voted-leader"), runid('b'));
    assert_eq!(get(&ss[1], "voted-leader-epoch"), "7");
}

#[test]
fn sentinel_link_refcount_counts_the_masters_sharing_it() {
    let mut fx = watched();
    let mut other = master_config(2);
    other.name = "other".into();
    other.addr = Addr::new("10.0.9.9", 7000);
    fx.s.add_master(fx.now, other).unwrap();
    fx.s.add_known_sentinel(fx.now, "other", Addr::new("10.0.1.1", 26380), &runid('b'));
    let ss = replies::sentinels(&fx.s, MASTER, fx.now).unwrap();
    assert_eq!(get(&items(&ss)[0], "link-refcount"), "2");
    assert_eq!(get(&items(&ss)[1], "link-refcount"), "1");
}

#[test]
fn unknown_master_is_an_error_for_every_listing() {
    let fx = Fx::new(1);
    for res in [
        replies::master(&fx.s, "nope", fx.now),
        replies::replicas(&fx.s, "nope", fx.now),
        replies::sentinels(&fx.s, "nope", fx.now),
    ] {
        assert_eq!(res, Err(CommandError::NoSuchMaster));
    }
    assert_eq!(
        CommandError::NoSuchMaster.to_string(),
        "ERR No such master with that name"
    );
}

#[test]
fn masters_lists_every_master_map() {
    let mut fx = Fx::new(1);
    let mut other = master_config(3);
    other.name = "alpha".into();
    fx.s.add_master(fx.now, other).unwrap();
    let all = replies::masters(&fx.s, fx.now);
    let names: Vec<String> = items(&all).iter().map(|x| get(x, "name")).collect();
    assert_eq!(names, ["alpha", MASTER]);
    assert_eq!(keys(&items(&all)[0]), strs(&MASTER_FIELDS));
}

#[test]
fn info_section_matches_redis_text() {
    let mut fx = watched();
    let mut other = master_config(1);
    other.name = "zeta".into();
    other.addr = Addr::new("::1", 7000);
    fx.s.add_master(fx.now, other).unwrap();
    let text = replies::info_section(
        &fx.s,
        ScriptStats {
            running: 1,
            queued: 3,
        },
        fx.now,
    );
    assert_eq!(
        text,
        "# Sentinel\r\n\
         sentinel_masters:2\r\n\
         sentinel_tilt:0\r\n\
         sentinel_tilt_since_seconds:-1\r\n\
         sentinel_running_scripts:1\r\n\
         sentinel_scripts_queue_length:3\r\n\
         sentinel_simulate_failure_flags:0\r\n\
         master0:name=mymaster,status=ok,address=10.0.0.1:6370,slaves=2,sentinels=3\r\n\
         master1:name=zeta,status=ok,address=::1:7000,slaves=0,sentinels=1\r\n"
    );
}

#[test]
fn info_section_shows_tilt_age_down_status_and_simulated_failures() {
    let mut fx = watched();
    fx.s.g.tilt = true;
    fx.s.g.tilt_start_time = fx.now - 2500;
    fx.s.g.simulate_failure = SimulateFailure::CRASH_AFTER_PROMOTION;
    fx.master_mut().inst.flags.s_down = true;
    let text = replies::info_section(&fx.s, ScriptStats::default(), fx.now);
    assert!(text.contains("sentinel_tilt:1\r\nsentinel_tilt_since_seconds:2\r\n"));
    assert!(text.contains("sentinel_simulate_failure_flags:2\r\n"));
    assert!(text.contains(",status=sdown,"));
    fx.master_mut().inst.flags.o_down = true;
    let text = replies::info_section(&fx.s, ScriptStats::default(), fx.now);
    assert!(text.contains(",status=odown,"));
}

#[test]
fn info_cache_pairs_names_with_master_then_replica_infos() {
    let mut fx = watched();
    fx.master_mut()
        .replicas
        .get_mut("10.0.0.3:6381")
        .unwrap()
        .info = None;
    let age = fx.now - fx.master().inst.info_refresh;
    let all = replies::info_cache(&fx.s, &["nope", MASTER, MASTER], fx.now);
    let all = items(&all);
    assert_eq!(all.len(), 2);
    assert_eq!(text(&all[0]), MASTER);
    let list = items(&all[1]);
    assert_eq!(list.len(), 3);
    let entry = items(&list[0]);
    assert_eq!(entry[0], Frame::Integer(age));
    assert!(text(&entry[1]).contains("role:master"));
    assert!(text(&items(&list[1])[1]).contains("role:slave"));
    assert_eq!(items(&list[2])[1], Frame::Null);
    // Redis 7.0.15 reports the master's INFO age for its replicas too.
    assert_eq!(items(&list[2])[0], Frame::Integer(age));
    let none: [&str; 0] = [];
    assert_eq!(items(&replies::info_cache(&fx.s, &none, fx.now)).len(), 2);
}

#[test]
fn config_get_matches_glob_case_insensitively_in_redis_order() {
    let mut fx = Fx::new(1);
    fx.s.g.announce_port = 7000;
    fx.s.g.announce_ip = Some("1.2.3.4".into());
    fx.s.g.announce_hostnames = true;
    let all = replies::config_get(&fx.s, "*");
    assert_eq!(keys(&all), strs(&replies::CONFIG_PARAMS));
    assert_eq!(get(&all, "resolve-hostnames"), "no");
    assert_eq!(get(&all, "announce-hostnames"), "yes");
    assert_eq!(get(&all, "announce-ip"), "1.2.3.4");
    assert_eq!(get(&all, "announce-port"), "7000");
    assert_eq!(get(&all, "sentinel-user"), "");
    assert_eq!(get(&all, "sentinel-pass"), "");
    assert_eq!(
        keys(&replies::config_get(&fx.s, "ANNOUNCE*")),
        ["announce-hostnames", "announce-ip", "announce-port"]
    );
    assert_eq!(replies::config_get(&fx.s, "nothing"), Frame::Map(vec![]));
}

#[test]
fn debug_lists_redis_timers() {
    let fx = watched();
    let d = replies::debug_timers(&fx.s);
    assert_eq!(
        keys(&d),
        [
            "INFO-PERIOD",
            "PING-PERIOD",
            "ASK-PERIOD",
            "PUBLISH-PERIOD",
            "DEFAULT-DOWN-AFTER",
            "DEFAULT-FAILOVER-TIMEOUT",
            "TILT-TRIGGER",
            "TILT-PERIOD",
            "SLAVE-RECONF-TIMEOUT",
            "MIN-LINK-RECONNECT-PERIOD",
            "ELECTION-TIMEOUT",
            "SCRIPT-MAX-RUNTIME",
            "SCRIPT-RETRY-DELAY"
        ]
    );
    let vals: Vec<String> = keys(&d).iter().map(|k| get(&d, k)).collect();
    assert_eq!(
        vals,
        [
            "10000", "1000", "1000", "2000", "30000", "180000", "2000", "30000", "10000", "15000",
            "10000", "60000", "30000"
        ]
    );
}

fn words(v: &[&str]) -> Vec<String> {
    v.iter().map(|w| w.to_string()).collect()
}

#[test]
fn debug_sets_timers_case_insensitively_and_lists_them() {
    let mut fx = watched();
    let t = &mut fx.s.g.timers;
    assert_eq!(
        t.set(&words(&["info-period", "5000", "Ping-Period", "2"])),
        Ok(())
    );
    assert_eq!((t.info_period, t.ping_period), (5000, 2));
    let d = replies::debug_timers(&fx.s);
    assert_eq!(
        (get(&d, "INFO-PERIOD"), get(&d, "PING-PERIOD")),
        ("5000".into(), "2".into())
    );
}

#[test]
fn debug_rejects_non_positive_values_and_unknown_options_like_redis() {
    let mut fx = watched();
    let t = &mut fx.s.g.timers;
    for bad in [
        "0",
        "-5",
        "abc",
        "1e3",
        "",
        "+5",
        "007",
        "99999999999999999999",
    ] {
        assert_eq!(
            t.set(&words(&["info-period", bad])),
            Err(format!(
                "ERR Invalid argument '{bad}' for SENTINEL DEBUG 'info-period'"
            ))
        );
    }
    assert_eq!(
        t.set(&words(&["nosuch", "1"])),
        Err("ERR Unknown option or number of arguments for SENTINEL DEBUG 'nosuch'".into())
    );
    assert_eq!(
        t.set(&words(&["TILT-PERIOD"])),
        Err("ERR Unknown option or number of arguments for SENTINEL DEBUG 'TILT-PERIOD'".into())
    );
    // pairs before the bad one stay applied, as in Redis
    assert!(t.set(&words(&["ask-period", "7", "nosuch", "3"])).is_err());
    assert_eq!(t.ask_period, 7);
    assert_eq!(t.info_period, 10_000);
}

// ---- SENTINEL SET ----

fn never(_: &str) -> bool {
    false
}

fn always(_: &str) -> bool {
    true
}

const MM: &str = "master mymaster 10.0.0.1 6370";

#[test]
fn set_applies_each_option_with_a_set_event_and_one_flush() {
    let mut fx = Fx::new(1);
    let (res, a) = fx.s.set(
        MASTER,
        &[
            "down-after-milliseconds",
            "1234",
            "FAILOVER-TIMEOUT",
            "9999",
            "parallel-syncs",
            "3",
            "quorum",
            "2",
            "master-reboot-down-after-period",
            "0",
        ],
        &never,
    );
    assert_eq!(res, Ok(()));
    assert_eq!(
        events(&a),
        [
            format!("+set {MM} down-after-milliseconds 1234"),
            format!("+set {MM} FAILOVER-TIMEOUT 9999"),
            format!("+set {MM} parallel-syncs 3"),
            format!("+set {MM} quorum 2"),
            format!("+set {MM} master-reboot-down-after-period 0"),
        ]
    );
    assert_eq!(a.last(), Some(&Action::PersistConfig));
    assert_eq!(a.iter().filter(|x| **x == Action::PersistConfig).count(), 1);
    let c = &fx.master().cfg;
    assert_eq!(
        (c.down_after, c.failover_timeout, c.parallel_syncs, c.quorum),
        (1234, 9999, 3, 2)
    );
    let mm = replies::master(&fx.s, MASTER, fx.now).unwrap();
    assert_eq!(get(&mm, "down-after-milliseconds"), "1234");
}

#[test]
fn set_rejects_non_positive_and_non_integer_values_with_redis_text() {
    for (opt, val) in [
        ("quorum", "0"),
        ("quorum", "abc"),
        ("down-after-milliseconds", "-5"),
        ("failover-timeout", "1x"),
        ("parallel-syncs", "0"),
        ("master-reboot-down-after-period", "-1"),
        ("quorum", "01"),
        ("quorum", " 2"),
    ] {
        let mut fx = Fx::new(1);
        let (res, a) = fx.s.set(MASTER, &[opt, val], &never);
        let e = res.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("ERR Invalid argument '{val}' for SENTINEL SET '{opt}'")
        );
        assert!(a.is_empty(), "{opt} {val}: {a:?}");
    }
}

#[test]
fn set_unknown_option_or_missing_value_is_one_error() {
    let mut fx = Fx::new(1);
    for args in [
        vec!["foo", "1"],
        vec!["rename-command", "x"],
        vec!["quorum", "2", "quorum"],
    ] {
        let (res, _) = fx.s.set(MASTER, &args, &never);
        let opt = if args[0] == "quorum" {
            "quorum"
        } else {
            args[0]
        };
        assert_eq!(
            res.unwrap_err().to_string(),
            format!("ERR Unknown option or number of arguments for SENTINEL SET '{opt}'")
        );
    }
    let (res, a) = fx.s.set(MASTER, &["quorum", "2"], &never);
    assert!(res.is_ok() && !a.is_empty());
    assert_eq!(
        fx.s.set("nope", &["quorum", "2"], &never).0,
        Err(CommandError::NoSuchMaster)
    );
}

#[test]
fn set_keeps_and_persists_the_options_before_an_error() {
    let mut fx = Fx::new(1);
    let (res, a) =
        fx.s.set(MASTER, &["parallel-syncs", "5", "quorum", "0"], &never);
    assert!(res.is_err());
    assert_eq!(fx.master().cfg.parallel_syncs, 5);
    assert_eq!(events(&a), [format!("+set {MM} parallel-syncs 5")]);
    assert_eq!(a.last(), Some(&Action::PersistConfig));
}

#[test]
fn set_auth_pass_is_redacted_and_drops_master_and_replica_links() {
    let mut fx = watched();
    let (res, a) =
        fx.s.set(MASTER, &["auth-pass", "secret", "auth-user", ""], &never);
    assert_eq!(res, Ok(()));
    assert_eq!(
        events(&a),
        [
            format!("+set {MM} auth-pass ******"),
            format!("+set {MM} auth-user "),
        ]
    );
    let dropped: Vec<_> = a
        .iter()
        .filter_map(|x| match x {
            Action::Disconnect {
                instance,
                link: None,
            } => Some(instance.clone()),
            _ => None,
        })
        .collect();
    // twice: once per option; sentinels keep their links
    assert_eq!(dropped, [m(), r(6380), r(6381), m(), r(6380), r(6381)]);
    assert_eq!(fx.master().cfg.auth_pass.as_deref(), Some("secret"));
    assert_eq!(fx.master().cfg.auth_user, None);
    assert!(!fx.master().inst.connected());
    assert!(fx.master().sentinels.values().all(|s| s.connected()));
}

#[test]
fn set_scripts_are_denied_by_default_and_must_be_executable() {
    let mut fx = Fx::new(1);
    let (res, a) = fx.s.set(MASTER, &["notification-script", "/x"], &always);
    assert_eq!(res, Err(CommandError::ScriptsReconfigDenied));
    assert!(a.is_empty());
    assert_eq!(
        CommandError::ScriptsReconfigDenied.to_string(),
        "ERR Reconfiguration of scripts path is denied for security reasons. Check the \
         deny-scripts-reconfig configuration directive in your Sentinel configuration"
    );
    fx.s.g.deny_scripts_reconfig = false;
    let (res, _) = fx.s.set(MASTER, &["notification-script", "/x"], &never);
    assert_eq!(
        res.unwrap_err().to_string(),
        "ERR Notification script seems non existing or non executable"
    );
    let (res, _) = fx.s.set(MASTER, &["client-reconfig-script", "/x"], &never);
    assert_eq!(
        res.unwrap_err().to_string(),
        "ERR Client reconfiguration script seems non existing or non executable"
    );
    let (res, a) = fx.s.set(
        MASTER,
        &["notification-script", "/n", "client-reconfig-script", "/r"],
        &always,
    );
    assert_eq!(res, Ok(()));
    assert_eq!(fx.master().cfg.notification_script.as_deref(), Some("/n"));
    assert_eq!(
        fx.master().cfg.client_reconfig_script.as_deref(),
        Some("/r")
    );
    // The +set events are warnings: the (new) notification script runs.
    assert!(a.contains(&Action::RunScript {
        path: "/n".into(),
        args: vec!["+set".into(), format!("{MM} client-reconfig-script /r")],
    }));
    // An empty path clears without the executable check.
    let (res, _) = fx.s.set(MASTER, &["notification-script", ""], &never);
    assert_eq!(res, Ok(()));
    assert_eq!(fx.master().cfg.notification_script, None);
}

#[test]
fn set_rename_command_is_case_insensitive_and_identity_clears_it() {
    let mut fx = Fx::new(1);
    let (res, a) =
        fx.s.set(MASTER, &["rename-command", "CONFIG", "GUARDED"], &never);
    assert_eq!(res, Ok(()));
    assert_eq!(
        events(&a),
        [format!("+set {MM} rename-command CONFIG GUARDED")]
    );
    assert_eq!(fx.master().command_name("config"), "GUARDED");
    fx.s.set(MASTER, &["rename-command", "Config", "config"], &never)
        .0
        .unwrap();
    assert!(fx.master().cfg.renamed_commands.is_empty());
    for (old, new, bad) in [("", "x", ""), ("x", "", ""), ("", "", "")] {
        let (res, _) = fx.s.set(MASTER, &["rename-command", old, new], &never);
        assert_eq!(
            res.unwrap_err().to_string(),
            format!("ERR Invalid argument '{bad}' for SENTINEL SET 'rename-command'")
        );
    }
}

// ---- SENTINEL CONFIG SET ----

#[test]
fn config_set_changes_global_options_and_flushes() {
    let mut fx = Fx::new(1);
    for (p, v) in [
        ("resolve-hostnames", "yes"),
        ("ANNOUNCE-HOSTNAMES", "YES"),
        ("announce-ip", "5.6.7.8"),
        ("announce-port", "65535"),
    ] {
        let (res, a) = fx.s.config_set(p, v);
        assert_eq!(res, Ok(()));
        assert_eq!(a, [Action::PersistConfig]);
    }
    let g = &fx.s.g;
    assert!(g.resolve_hostnames && g.announce_hostnames);
    assert_eq!(g.announce_ip.as_deref(), Some("5.6.7.8"));
    assert_eq!(g.announce_port, 65535);
    fx.s.config_set("announce-ip", "").0.unwrap();
    assert_eq!(fx.s.g.announce_ip, None);
}

#[test]
fn config_set_rejects_bad_values_and_unknown_parameters() {
    let mut fx = Fx::new(1);
    for (p, v) in [
        ("announce-port", "70000"),
        ("announce-port", "-1"),
        ("announce-port", "x"),
        ("resolve-hostnames", "maybe"),
    ] {
        let (res, a) = fx.s.config_set(p, v);
        assert_eq!(
            res.unwrap_err().to_string(),
            format!("ERR Invalid value '{v}' to SENTINEL CONFIG SET '{p}'")
        );
        assert!(a.is_empty());
    }
    let (res, _) = fx.s.config_set("loglevel", "debug");
    assert_eq!(
        res.unwrap_err().to_string(),
        "ERR Invalid argument 'loglevel' to SENTINEL CONFIG SET"
    );
}

#[test]
fn config_set_sentinel_credentials_drop_connected_sentinel_links() {
    let mut fx = watched();
    fx.master_mut()
        .sentinels
        .get_mut(&runid('c'))
        .unwrap()
        .link
        .get()
        .cc = false;
    let (res, a) = fx.s.config_set("sentinel-pass", "pw");
    assert_eq!(res, Ok(()));
    assert_eq!(
        a,
        [
            Action::PersistConfig,
            Action::Disconnect {
                instance: s('b'),
                link: None
            }
        ]
    );
    assert_eq!(fx.s.g.sentinel_pass.as_deref(), Some("pw"));
    assert!(fx.master().sentinels.values().all(|x| !x.connected()));
    assert!(fx.master().inst.connected());
    fx.s.config_set("sentinel-user", "u").0.unwrap();
    let cfg = replies::config_get(&fx.s, "sentinel-*");
    assert_eq!(get(&cfg, "sentinel-user"), "u");
    assert_eq!(get(&cfg, "sentinel-pass"), "pw");
    fx.s.config_set("sentinel-pass", "").0.unwrap();
    assert_eq!(fx.s.g.sentinel_pass, None);
}

// ---- SENTINEL SIMULATE-FAILURE ----

#[test]
fn simulate_failure_sets_flags_help_lists_them_and_unknown_fails() {
    let mut fx = Fx::new(1);
    assert_eq!(
        fx.s.simulate_failure(&["CRASH-AFTER-ELECTION", "crash-after-promotion"]),
        Ok(SimulateFailureOutcome::Ok)
    );
    assert_eq!(fx.s.g.simulate_failure, 3);
    assert_eq!(
        fx.s.simulate_failure(&["crash-after-promotion", "help", "bogus"]),
        Ok(SimulateFailureOutcome::Help)
    );
    assert_eq!(fx.s.g.simulate_failure, 2);
    assert_eq!(
        replies::simulate_failure_help(),
        Frame::Array(vec![
            Frame::bulk("crash-after-election"),
            Frame::bulk("crash-after-promotion")
        ])
    );
    let e = fx.s.simulate_failure(&["bogus"]).unwrap_err();
    assert_eq!(e.to_string(), "ERR Unknown failure simulation specified");
    assert_eq!(fx.s.g.simulate_failure, 0);
}

/// One sentinel (quorum 1) with a live replica, master frozen; runs
/// until `event` and returns the actions of that tick.
fn fail_until_event(flags: &[&str], event: &str) -> Vec<Action> {
    let mut fx = Fx::new(1);
    fx.add_replicas(&[6380]);
    fx.tick(100);
    fx.alive(&r(6380), replica_info('n', &master_addr(), true, 10, 100));
    fx.alive(&m(), master_info('m', &[6380]));
    fx.run(1000);
    fx.s.simulate_failure(flags).unwrap();
    fx.freeze(&m());
    for _ in 0..2000 {
        let a = fx.tick(100);
        if has_event(&a, event) {
            return a;
        }
    }
    panic!("no {event}");
}

fn crash_follows(a: &[Action], event: &str) -> bool {
    let at = a
        .iter()
        .position(|x| matches!(x, Action::Event(e) if e.name == event))
        .unwrap();
    a[at + 1..]
        .iter()
        .take_while(|x| !matches!(x, Action::Event(_)))
        .any(|x| *x == Action::SimulatedCrash)
}

#[test]
fn crash_after_election_crashes_right_after_elected_leader() {
    let a = fail_until_event(&["crash-after-election"], "+elected-leader");
    assert!(crash_follows(&a, "+elected-leader"), "{a:?}");
    let a = fail_until_event(&[], "+elected-leader");
    assert!(!a.contains(&Action::SimulatedCrash));
}

#[test]
fn crash_after_promotion_crashes_right_after_promoted_slave() {
    let a = fail_until_event(&["crash-after-promotion"], "+promoted-slave");
    assert!(crash_follows(&a, "+promoted-slave"), "{a:?}");
    let a = fail_until_event(&["crash-after-promotion"], "+elected-leader");
    assert!(!a.contains(&Action::SimulatedCrash));
}
