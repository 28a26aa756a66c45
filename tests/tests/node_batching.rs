//! The batched send and receive paths against a real Erlang node: many senders on either
//! side keep their per-sender order through the batches (and through the atom cache of
//! what beamlink sends), and large binaries, which go out without being copied into the
//! frame and come in as slices of the read buffer, arrive byte for byte.

use beamlink::Term;
use beamlink_e2e::{Beam, NodeBeside};
use md5::Digest;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[test]
fn many_beam_senders_keep_their_order_into_one_mailbox() {
    let mut s = NodeBeside::start(Beam::erlang());
    let me = s.node.name().as_str().to_string();
    let mut mb = s.node.mailbox_named("inbox").unwrap();
    const SENDERS: i64 = 8;
    const EACH: i64 = 3000;
    assert_eq!(
        s.beam.eval(&format!(
            "[spawn(fun() -> [{{inbox, '{me}'}} ! {{S, I}} || I <- lists:seq(1, {EACH})] end) \
             || S <- lists:seq(1, {SENDERS})], ok."
        )),
        "ok"
    );
    let mut next = vec![1i64; SENDERS as usize + 1];
    s.rt.block_on(async {
        for _ in 0..SENDERS * EACH {
            let m = mb.recv_timeout(T).await.expect("a message");
            let [sender, i] = m.as_tuple_n::<2>().expect("{S, I}");
            let (sender, i) = (sender.as_i64().unwrap(), i.as_i64().unwrap());
            assert_eq!(i, next[sender as usize], "sender {sender} out of order");
            next[sender as usize] += 1;
        }
    });
    assert!(next[1..].iter().all(|&n| n == EACH + 1));
    assert!(mb.try_recv().unwrap().is_none(), "nothing more");
}

/// The bytes of message `i` of sender `s`: a pattern that differs per message.
fn pattern(s: u8, i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|k| (k as u8).wrapping_mul(31) ^ s ^ (i as u8))
        .collect()
}

#[test]
fn many_beamlink_senders_keep_their_order_and_large_binaries_arrive_intact() {
    let mut s = NodeBeside::start(Beam::erlang());
    let erl = s.beam.node().to_string();
    // Two collectors under two names, both forwarding to the harness process: the
    // control messages use different atoms, all of them through the atom cache. Order
    // holds per sender and collector (Erlang's promise); each collector gets every
    // other message of each sender.
    assert_eq!(
        s.beam.eval(
            "Self = self(), [register(N, spawn(fun F() -> receive M -> Self ! {N, M}, F() end end)) \
             || N <- [sink_a, sink_b]], ok."
        ),
        "ok"
    );
    const SENDERS: u8 = 6;
    const EACH: usize = 1500;
    s.rt.block_on(async {
        let mut tasks = Vec::new();
        for sender in 1..=SENDERS {
            let mb = s.node.mailbox().unwrap();
            let erl = erl.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..EACH {
                    // Every 100th message carries 20 KB (sent without copying it into
                    // the frame); every 500th 1.5 MB (fragmented).
                    let len = match i {
                        _ if i % 500 == 0 => 1_500_000,
                        _ if i % 100 == 0 => 20_000,
                        _ => 8,
                    };
                    let name = if i % 2 == 0 { "sink_a" } else { "sink_b" };
                    let bytes = pattern(sender, i, len);
                    let md5 = md5::Md5::digest(&bytes).to_vec();
                    let msg = Term::tuple(vec![
                        Term::Int(sender as i64),
                        Term::Int(i as i64),
                        Term::binary(md5),
                        Term::binary(bytes),
                    ]);
                    mb.send_wait((name, erl.as_str()), msg).await.expect("send");
                }
                // Keep the process alive until everything is queued.
                drop(mb);
            }));
        }
        for t in tasks {
            t.await.expect("sender");
        }
    });
    let check = s.beam.eval_timeout(
        &format!(
            "Ms = [receive {{N, {{S, I, Md5, B}}}} -> {{N, S, I, Md5, B}} after 30000 -> timeout end \
                   || _ <- lists:seq(1, {total})], \
             InOrder = lists:all(fun({{S, N, First}}) -> \
                                     [I || {{N2, S2, I, _, _}} <- Ms, S2 =:= S, N2 =:= N] =:= lists:seq(First, {last}, 2) end, \
                                 [{{S, N, F}} || S <- lists:seq(1, {SENDERS}), {{N, F}} <- [{{sink_a, 0}}, {{sink_b, 1}}]]), \
             Names = lists:all(fun({{N, _, I, _, _}}) -> N =:= lists:nth(I rem 2 + 1, [sink_a, sink_b]) end, Ms), \
             Bytes = lists:all(fun({{_, _, _, Md5, B}}) -> erlang:md5(B) =:= Md5 end, Ms), \
             Large = length([x || {{_, _, _, _, B}} <- Ms, byte_size(B) > 1000000]), \
             {{InOrder, Names, Bytes, Large, length(Ms)}}.",
            total = SENDERS as usize * EACH,
            last = EACH - 1,
        ),
        Duration::from_secs(120),
    );
    assert_eq!(
        check,
        format!(
            "{{true,true,true,{},{}}}",
            SENDERS as usize * 3,
            SENDERS as usize * EACH
        )
    );
}

#[test]
fn large_binaries_from_the_beam_arrive_byte_identical_and_go_back_the_same() {
    let mut s = NodeBeside::start(Beam::erlang());
    let me = s.node.name().as_str().to_string();
    let mut mb = s.node.mailbox_named("echo").unwrap();
    // 64 KiB and 200 KB travel in one frame; 3 MB is fragmented both ways.
    for len in [65_536usize, 200_000, 3_000_000] {
        assert_eq!(
            s.beam.eval(&format!(
                "put(bin, crypto:strong_rand_bytes({len})), {{echo, '{me}'}} ! {{self(), get(bin)}}, ok."
            )),
            "ok"
        );
        let m = s.rt.block_on(mb.recv_timeout(T)).expect("the binary");
        let [from, bin] = m.as_tuple_n::<2>().expect("{From, Bin}");
        match bin {
            Term::Binary(b) => assert_eq!(b.len(), len),
            other => panic!("not a binary: {other:?}"),
        }
        mb.send(from.as_pid().unwrap(), bin.clone()).unwrap();
        assert_eq!(
            s.beam
                .eval("receive B when is_binary(B) -> B =:= get(bin) after 30000 -> timeout end."),
            "true",
            "{len} bytes"
        );
    }
}
