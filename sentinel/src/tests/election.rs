//! IS-MASTER-DOWN-BY-ADDR, votes, leader counting, failover start.

use super::kit::*;
use crate::io::{events, Action, Request};

/// A sentinel with peers `letters` (connected and answering PINGs),
/// replicas alive, the master alive.
fn ready(quorum: u32, letters: &str) -> Fx {
    let mut fx = Fx::new(quorum);
    fx.add_sentinels(letters);
    fx.add_replicas(&[6380]);
    fx.tick(100);
    for c in letters.chars() {
        fx.alive(&s(c), String::new());
    }
    fx.alive(&r(6380), replica_info('n', &master_addr(), true, 100, 100));
    fx.alive(&m(), master_info('m', &[6380]));
    fx.run(1000);
    fx
}

#[test]
fn votes_once_per_epoch_first_request_wins() {
    let mut fx = Fx::new(2);
    let b = runid('b');
    let c = runid('c');
    let (ans, a) = fx.s.is_master_down_by_addr(fx.now, "10.0.0.1", 6370, 1, &b);
    assert_eq!((ans.leader.as_str(), ans.leader_epoch), (b.as_str(), 1));
    assert_eq!(
        events(&a),
        vec![
            "+new-epoch 1".to_string(),
            format!("+vote-for-leader {b} 1")
        ]
    );
    assert!(a.contains(&Action::PersistConfig));
    let (ans, a) = fx.s.is_master_down_by_addr(fx.now, "10.0.0.1", 6370, 1, &c);
    assert_eq!((ans.leader.as_str(), ans.leader_epoch), (b.as_str(), 1));
    assert!(events(&a).is_empty());
    let (ans, _) = fx.s.is_master_down_by_addr(fx.now, "10.0.0.1", 6370, 2, &c);
    assert_eq!((ans.leader.as_str(), ans.leader_epoch), (c.as_str(), 2));
}

#[test]
fn a_request_for_an_old_epoch_gets_the_previous_vote() {
    let mut fx = Fx::new(2);
    fx.s.g.current_epoch = 5;
    let (ans, a) =
        fx.s.is_master_down_by_addr(fx.now, "10.0.0.1", 6370, 3, &runid('b'));
    assert_eq!((ans.leader.as_str(), ans.leader_epoch), ("*", 0));
    assert!(a.is_empty());
    assert_eq!(fx.s.g.current_epoch, 5);
}

#[test]
fn asking_without_a_runid_is_not_a_vote_request() {
    let mut fx = Fx::new(2);
    let (ans, a) =
        fx.s.is_master_down_by_addr(fx.now, "10.0.0.1", 6370, 4, "*");
    assert_eq!(
        (ans.down, ans.leader.as_str(), ans.leader_epoch),
        (false, "*", 0)
    );
    assert!(a.is_empty());
    assert_eq!(fx.s.g.current_epoch, 0);
}

#[test]
fn the_master_is_found_by_address_not_by_name() {
    let mut fx = Fx::new(2);
    fx.run(DOWN_AFTER + 100);
    let (ans, _) =
        fx.s.is_master_down_by_addr(fx.now, "10.0.0.1", 6370, 0, "*");
    assert!(ans.down);
    let (ans, _) =
        fx.s.is_master_down_by_addr(fx.now, "10.0.0.1", 6380, 1, &runid('b'));
    assert_eq!(
        (ans.down, ans.leader.as_str(), ans.leader_epoch),
        (false, "*", 0)
    );
}

#[test]
fn voting_for_another_sentinel_delays_our_own_failover_by_twice_the_timeout() {
    let mut fx = ready(2, "b");
    fx.freeze(&m());
    fx.run(DOWN_AFTER + 1000);
    let (_, a) =
        fx.s.is_master_down_by_addr(fx.now, "10.0.0.1", 6370, 1, &runid('b'));
    assert!(events(&a).contains(&format!("+vote-for-leader {} 1", runid('b'))));
    // ODOWN now, but no failover of ours for 2 × failover-timeout.
    fx.answer(&s('b'), 1, &runid('b'), 1);
    let a = fx.tick(100);
    assert!(has_event(&a, "+odown"));
    assert!(!has_event(&a, "+try-failover"));
    let mut started = None;
    for _ in 0..1300 {
        let a = fx.tick(100);
        if sends_to(&a, &s('b')).contains(&&Request::IsMasterDownByAddr) {
            fx.answer(&s('b'), 1, &runid('b'), 1);
        }
        if has_event(&a, "+try-failover") {
            started = Some(fx.now);
            break;
        }
    }
    let vote_time = fx.s.masters[MASTER].failover_start_time;
    assert!(started.is_some());
    assert!(
        vote_time >= started.unwrap() - 100,
        "restarted right at 2 × timeout"
    );
}

#[test]
fn failover_start_bumps_the_epoch_and_asks_peers_for_votes_at_once() {
    let mut fx = ready(2, "bc");
    fx.freeze(&m());
    fx.run(DOWN_AFTER + 1000);
    fx.answer(&s('b'), 1, "*", 0);
    let a = fx.tick(100);
    let ev = events(&a);
    assert_eq!(
        ev[..3],
        [
            "+odown master mymaster 10.0.0.1 6370 #quorum 2/2".to_string(),
            "+new-epoch 1".into(),
            "+try-failover master mymaster 10.0.0.1 6370".into(),
        ]
    );
    let asks: Vec<(&crate::instance::InstanceId, &Vec<String>)> = a
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                instance,
                request: Request::IsMasterDownByAddr,
                argv,
            } => Some((instance, &argv[0])),
            _ => None,
        })
        .collect();
    // Forced: b is asked although it answered just now. (c, silent for
    // over a second, is asked again by the regular pass of the same tick,
    // as Redis does.)
    assert_eq!(asks.iter().filter(|(i, _)| **i == s('b')).count(), 1);
    assert_eq!(asks[0].1[4..], ["1".to_string(), MYID.to_string()]);
}

#[test]
fn no_failover_without_a_majority_of_all_known_sentinels() {
    // Quorum 2 but five sentinels known in total: 3 votes are needed,
    // even though d and e are unreachable.
    let mut fx = ready(2, "bcde");
    fx.freeze(&m());
    fx.freeze(&s('d'));
    fx.freeze(&s('e'));
    fx.run(DOWN_AFTER + 1000);
    fx.answer(&s('b'), 1, "*", 0);
    let a = fx.tick(100);
    assert!(has_event(&a, "+try-failover"));
    fx.answer(&s('b'), 1, MYID, 1);
    let a = fx.tick(100);
    assert!(!has_event(&a, "+elected-leader"), "2 of 5 votes");
    fx.answer(&s('c'), 1, MYID, 1);
    let a = fx.tick(100);
    assert_eq!(
        named(&a, "+elected-leader"),
        vec!["+elected-leader master mymaster 10.0.0.1 6370"]
    );
}

#[test]
fn the_winner_also_needs_the_quorum() {
    // Three sentinels (majority 2) but quorum 3: two votes do not elect.
    let mut fx = ready(3, "bc");
    fx.freeze(&m());
    fx.run(DOWN_AFTER + 1000);
    fx.answer(&s('b'), 1, "*", 0);
    fx.answer(&s('c'), 1, "*", 0);
    let a = fx.tick(100);
    assert!(has_event(&a, "+try-failover"));
    fx.answer(&s('b'), 1, MYID, 1);
    let a = fx.tick(100);
    assert!(!has_event(&a, "+elected-leader"));
    fx.answer(&s('c'), 1, MYID, 1);
    let a = fx.tick(100);
    assert!(has_event(&a, "+elected-leader"));
}

#[test]
fn votes_from_another_epoch_do_not_count() {
    let mut fx = ready(2, "b");
    fx.freeze(&m());
    fx.run(DOWN_AFTER + 1000);
    fx.answer(&s('b'), 1, "*", 0);
    fx.tick(100);
    fx.answer(&s('b'), 1, MYID, 7);
    let a = fx.tick(100);
    assert!(!has_event(&a, "+elected-leader"));
}

#[test]
fn we_vote_for_the_most_voted_candidate_and_abort_when_not_elected() {
    let mut fx = ready(2, "bc");
    fx.freeze(&m());
    fx.run(DOWN_AFTER + 1000);
    fx.answer(&s('b'), 1, "*", 0);
    let a = fx.tick(100);
    assert!(has_event(&a, "+try-failover"));
    // Our own vote went to us at the start of wait_start; b and c voted c.
    fx.answer(&s('b'), 1, &runid('c'), 1);
    fx.answer(&s('c'), 1, &runid('c'), 1);
    let mut aborted = None;
    for _ in 0..200 {
        let a = fx.tick(100);
        for p in ['b', 'c'] {
            if sends_to(&a, &s(p)).contains(&&Request::IsMasterDownByAddr) {
                fx.answer(&s(p), 1, &runid('c'), 1);
            }
        }
        assert!(!has_event(&a, "+elected-leader"));
        if has_event(&a, "-failover-abort-not-elected") {
            aborted = Some(fx.now);
            break;
        }
    }
    // min(10 s, failover-timeout) after the (randomised, here +0) start.
    let start = fx.s.masters[MASTER].failover_state_change_time;
    assert_eq!(aborted, Some(start));
    assert!(!fx.master().inst.flags.failover_in_progress);
}

#[test]
fn answers_are_parsed_into_the_peer_record() {
    let mut fx = ready(2, "b");
    fx.answer(&s('b'), 1, &runid('c'), 4);
    let p = &fx.master().sentinels[&runid('b')];
    assert!(p.flags.master_down);
    assert_eq!(
        (p.leader.as_deref(), p.leader_epoch),
        (Some(runid('c').as_str()), 4)
    );
    // A malformed answer is ignored.
    fx.input(crate::io::Input::MasterDownReply {
        instance: s('b'),
        reply: None,
    });
    assert!(fx.master().sentinels[&runid('b')].flags.master_down);
}
