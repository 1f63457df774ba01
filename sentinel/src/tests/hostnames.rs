//! `resolve-hostnames` / `announce-hostnames`: instances keep the name
//! they were given, are found by name or by IP, and are reported by name
//! only with `announce-hostnames yes`.

use super::kit::*;
use crate::config::Resolver;
use crate::instance::{Addr, MasterConfig};
use crate::io::{events, Action, Input, Request};

/// A fixed name table instead of DNS: `db-m` is the master's host,
/// `db-r1` the replica 6380's.
struct Names;

impl Resolver for Names {
    fn resolve(&self, host: &str, ip_only: bool) -> Option<String> {
        if host.parse::<std::net::IpAddr>().is_ok() {
            return Some(host.to_string());
        }
        if ip_only {
            return None;
        }
        match host {
            "db-m" => Some("10.0.0.1".into()),
            "db-r1" => Some("10.0.0.2".into()),
            _ => None,
        }
    }
}

/// One sentinel monitoring `mymaster` given as `db-m`, with the two
/// options set as asked.
fn named(resolve: bool, announce: bool) -> Fx {
    let mut cfg: MasterConfig = master_config(1);
    cfg.addr = Addr::resolved("db-m", "10.0.0.1", 6370);
    let mut fx = Fx::with_config(cfg);
    fx.s.set_resolver(Box::new(Names));
    fx.s.g.resolve_hostnames = resolve;
    fx.s.g.announce_hostnames = announce;
    fx
}

fn hello_payloads(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                request: Request::Hello { payload },
                ..
            } => Some(payload.clone()),
            _ => None,
        })
        .collect()
}

fn master_info_listing(host: &str) -> String {
    format!(
        "# Server\r\nrun_id:{}\r\n# Replication\r\nrole:master\r\nconnected_slaves:1\r\n\
         slave0:ip={host},port=6380,state=online,offset=100,lag=0\r\n",
        runid('m')
    )
}

#[test]
fn hellos_and_replies_name_the_master_by_hostname_only_with_announce_hostnames() {
    for (announce, shown) in [(true, "db-m"), (false, "10.0.0.1")] {
        let mut fx = named(true, announce);
        let a = fx.tick(100);
        // the link goes to the address the name resolved to
        assert!(a.iter().any(|a| matches!(a,
            Action::Connect { addr, .. } if addr.connect_host() == "10.0.0.1")));
        fx.alive(&m(), master_info('m', &[]));
        let a = fx.run(3000);
        let hellos = hello_payloads(&a);
        assert!(!hellos.is_empty());
        for h in &hellos {
            assert!(h.contains(&format!(",mymaster,{shown},6370,")), "{h}");
        }
        assert_eq!(fx.s.master_addr(MASTER).unwrap().announced(announce), shown);
        let map = crate::replies::instance_map(&fx.s, fx.master(), &fx.master().inst, fx.now);
        assert!(
            format!("{map:?}").contains(&format!("\"{shown}\"")),
            "{map:?}"
        );
    }
}

#[test]
fn a_replica_listed_by_hostname_is_added_only_with_resolve_hostnames() {
    // resolve-hostnames no: a name in INFO is refused, as createSentinelAddr
    let mut fx = named(false, false);
    fx.tick(100);
    let a = fx.alive(&m(), master_info_listing("db-r1"));
    assert!(!events(&a).iter().any(|e| e.starts_with("+slave ")));
    assert!(fx.master().replicas.is_empty());

    // yes: the replica keeps its name, is keyed and shown by IP...
    let mut fx = named(true, false);
    fx.tick(100);
    let a = fx.alive(&m(), master_info_listing("db-r1"));
    assert!(
        events(&a)
            .contains(&"+slave slave 10.0.0.2:6380 10.0.0.2 6380 @ mymaster 10.0.0.1 6370".into()),
        "{:?}",
        events(&a)
    );
    assert_eq!(fx.master().replicas["10.0.0.2:6380"].addr.hostname, "db-r1");
    // ... and the same replica listed by IP later is not added twice
    fx.info(&m(), master_info('m', &[6380]));
    assert_eq!(fx.master().replicas.len(), 1);

    // with announce-hostnames yes, by name
    let mut fx = named(true, true);
    fx.tick(100);
    let a = fx.alive(&m(), master_info_listing("db-r1"));
    assert!(
        events(&a).contains(&"+slave slave db-r1:6380 db-r1 6380 @ mymaster db-m 6370".into()),
        "{:?}",
        events(&a)
    );
}

#[test]
fn a_config_update_by_hostname_switches_the_master_and_reports_names() {
    let mut fx = named(true, true);
    fx.tick(100);
    fx.alive(&m(), master_info('m', &[]));
    let hello = format!("10.0.1.1,26380,{},5,mymaster,db-r1,6380,5", runid('b'));
    // the sender is added, then its newer config is taken
    let a = fx.input(Input::Hello {
        via: Some(m()),
        payload: hello,
    });
    let ev = events(&a);
    assert!(
        ev.contains(&"+switch-master mymaster db-m 6370 db-r1 6380".into()),
        "{ev:?}"
    );
    let addr = fx.s.master_addr(MASTER).unwrap().clone();
    assert_eq!(
        (addr.hostname.as_str(), addr.ip.as_str()),
        ("db-r1", "10.0.0.2")
    );
    // the old master is now a replica known by its name
    assert!(ev.contains(&"+slave slave db-m:6370 db-m 6370 @ mymaster db-r1 6380".into()));
}

#[test]
fn is_master_down_by_addr_finds_the_master_by_hostname_or_ip() {
    let mut fx = named(true, true);
    fx.tick(100);
    for host in ["db-m", "10.0.0.1", "DB-M"] {
        let (answer, _) = fx.s.is_master_down_by_addr(fx.now, host, 6370, 0, "*");
        assert!(!answer.down, "{host}");
        // found: a vote request gets a leader back
        let (answer, _) =
            fx.s.is_master_down_by_addr(fx.now, host, 6370, 1, &runid('b'));
        assert_eq!(answer.leader, runid('b'), "{host}");
    }
    let (answer, _) =
        fx.s.is_master_down_by_addr(fx.now, "db-r1", 6370, 2, &runid('c'));
    assert_eq!(answer.leader, "*");
}

#[test]
fn slaveof_during_a_failover_names_the_new_master_as_announced() {
    let fx = named(true, true);
    let target = Addr::resolved("db-r1", "10.0.0.2", 6380);
    let tx = crate::failover::slaveof_argv(fx.master(), Some(&target), true);
    assert!(tx.contains(&vec!["SLAVEOF".into(), "db-r1".into(), "6380".into()]));
    let tx = crate::failover::slaveof_argv(fx.master(), Some(&target), false);
    assert!(tx.contains(&vec!["SLAVEOF".into(), "10.0.0.2".into(), "6380".into()]));
}

/// A name table a test can change while the sentinel runs.
#[derive(Clone, Default)]
struct Table(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>);

impl Resolver for Table {
    fn resolve(&self, host: &str, ip_only: bool) -> Option<String> {
        if host.parse::<std::net::IpAddr>().is_ok() {
            return Some(host.to_string());
        }
        if ip_only {
            return None;
        }
        self.0.lock().unwrap().get(host).cloned()
    }
}

fn connects_to(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Connect { instance, addr, .. } if *instance == m() => {
                Some(addr.connect_host().to_string())
            }
            _ => None,
        })
        .collect()
}

fn logs(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn each_reconnection_resolves_the_name_again() {
    let table = Table::default();
    table
        .0
        .lock()
        .unwrap()
        .insert("db-m".into(), "10.0.0.1".into());
    let mut fx = named(true, false);
    fx.s.set_resolver(Box::new(table.clone()));
    assert_eq!(connects_to(&fx.tick(100)), ["10.0.0.1"]);
    // the master comes back elsewhere under the same name
    table
        .0
        .lock()
        .unwrap()
        .insert("db-m".into(), "10.0.0.42".into());
    fx.tick(1000);
    assert_eq!(connects_to(&fx.tick(1000)), ["10.0.0.42"]);
    let addr = fx.s.master_addr(MASTER).unwrap();
    assert_eq!(
        (addr.hostname.as_str(), addr.ip.as_str()),
        ("db-m", "10.0.0.42")
    );
    // gone from DNS: the last address is kept, and the failure logged
    table.0.lock().unwrap().clear();
    let a = fx.tick(1000);
    assert_eq!(logs(&a), ["Failed to resolve hostname 'db-m'"]);
    assert_eq!(connects_to(&a), ["10.0.0.42"]);
}

#[test]
fn a_replica_named_while_resolve_hostnames_is_off_is_logged_and_refused() {
    let mut fx = named(false, false);
    fx.tick(100);
    let a = fx.alive(&m(), master_info_listing("db-r1"));
    assert_eq!(logs(&a), ["Failed to resolve hostname 'db-r1'"]);
}
