//! The reader and writer tasks over in-memory pipes, with tokio's paused clock: ticks,
//! the silence timeout, frame limits, lane interleaving and closing, byte for byte.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

use super::reader::Reader;
use super::shared::Shared;
use super::writer::Writer;
use super::ConnectionEvent;
use crate::error::DownReason;
use crate::frame_codec::{FrameDecoder, FrameEncoder, FrameLimits};

fn packet(tag: u8, len: usize) -> Bytes {
    let mut p = (len as u32).to_be_bytes().to_vec();
    p.extend(std::iter::repeat_n(tag, len));
    Bytes::from(p)
}

fn writer<W: tokio::io::AsyncWrite + Unpin>(socket: W, shared: Arc<Shared>) -> Writer<W> {
    Writer::new(socket, shared, Duration::from_secs(1), 1 << 20)
}

fn queue(shared: &Shared, lane: u64, packets: Vec<Bytes>) {
    let mut packets = packets;
    shared.push_packets(lane, &mut packets).unwrap();
}

#[tokio::test(start_paused = true)]
async fn writer_ticks_after_a_quarter_of_net_ticktime_of_silence() {
    let (ours, mut theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    let task = tokio::spawn(writer(ours, shared.clone()).run());
    let start = tokio::time::Instant::now();
    let mut tick = [9u8; 4];
    theirs.read_exact(&mut tick).await.unwrap();
    assert_eq!(tick, [0, 0, 0, 0]);
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    // Writing something postpones the next tick by a full interval.
    tokio::time::sleep(Duration::from_millis(500)).await;
    queue(&shared, 0, vec![packet(7, 3)]);
    let mut data = [0u8; 7];
    theirs.read_exact(&mut data).await.unwrap();
    assert_eq!(data, [0, 0, 0, 3, 7, 7, 7]);
    let sent_at = tokio::time::Instant::now();
    theirs.read_exact(&mut tick).await.unwrap();
    assert_eq!(tick, [0, 0, 0, 0]);
    assert_eq!(sent_at.elapsed(), Duration::from_secs(1));
    assert_eq!(shared.counters.snapshot().ticks_out, 2);
    shared.queue.close();
    task.await.unwrap();
}

#[tokio::test]
async fn writer_interleaves_lanes_and_keeps_order_within_a_lane() {
    let (ours, mut theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    // Queued before the writer runs: a three-fragment message in lane 1, then a small
    // message in lane 2, then another in lane 1.
    let a: Vec<Bytes> = (1..=3).map(|i| packet(i, 2)).collect();
    queue(&shared, 1, a);
    queue(&shared, 2, vec![packet(0xb1, 1)]);
    queue(&shared, 1, vec![packet(4, 1)]);
    shared.queue.close();
    let task = tokio::spawn(writer(ours, shared.clone()).run());
    let mut all = Vec::new();
    theirs.read_to_end(&mut all).await.unwrap();
    task.await.unwrap();
    let tags: Vec<u8> = {
        let mut rest = &all[..];
        let mut tags = Vec::new();
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            tags.push(rest[4]);
            rest = &rest[4 + len..];
        }
        tags
    };
    // Lanes take turns packet by packet: lane 2's message goes between lane 1's
    // fragments; lane 1 stays in order.
    assert_eq!(tags, [1, 0xb1, 2, 3, 4]);
    let stats = shared.counters.snapshot();
    assert_eq!(stats.messages_out, 3);
    assert_eq!(stats.frames_out, 5);
    assert_eq!(stats.writes, 1, "one vectored write for the whole batch");
    assert!(matches!(shared.reason(), Some(DownReason::LocalClose { .. })));
}

#[tokio::test]
async fn writer_stops_when_the_connection_goes_down() {
    let (ours, mut theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    let task = tokio::spawn(writer(ours, shared.clone()).run());
    shared.go_down(DownReason::PeerClosed {
        peer: "peer@h".into(),
    });
    task.await.unwrap();
    let mut rest = Vec::new();
    theirs.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

fn reader<R: tokio::io::AsyncRead + Unpin>(
    socket: R,
    buf: BytesMut,
    shared: Arc<Shared>,
    max_frame: usize,
) -> (Reader<R>, super::Events) {
    let events = super::events::EventQueue::new(8);
    let rx = super::Events::new(events.clone());
    let r = Reader {
        socket,
        buf,
        decoder: FrameDecoder::new(FrameLimits::default()),
        events,
        batch: Vec::new(),
        after_large: false,
        shared,
        net_ticktime: Duration::from_secs(4),
        max_frame,
    };
    (r, rx)
}

#[tokio::test(start_paused = true)]
async fn reader_declares_the_peer_down_after_net_ticktime_of_silence() {
    let (ours, mut theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    // A tick left over from the handshake buffer is counted first.
    let (r, mut events) = reader(ours, BytesMut::from(&[0u8, 0, 0, 0][..]), shared.clone(), 1 << 20);
    tokio::spawn(r.run());
    let start = tokio::time::Instant::now();
    // Ticks keep it alive...
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        theirs.write_all(&[0, 0, 0, 0]).await.unwrap();
    }
    // ...then silence: down exactly net_ticktime after the last byte.
    match events.recv().await {
        Some(ConnectionEvent::Down(DownReason::TickTimeout { peer, ticktime })) => {
            assert_eq!(peer, "peer@h");
            assert_eq!(ticktime, Duration::from_secs(4));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(start.elapsed(), Duration::from_secs(9 + 4));
    assert_eq!(shared.counters.snapshot().ticks_in, 4);
    assert!(events.recv().await.is_none(), "Down is the last event");
}

#[tokio::test]
async fn reader_refuses_a_frame_over_the_limit_before_reading_it() {
    let (ours, mut theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    let (r, mut events) = reader(ours, BytesMut::new(), shared.clone(), 100);
    tokio::spawn(r.run());
    theirs.write_all(&101u32.to_be_bytes()).await.unwrap();
    match events.recv().await {
        Some(ConnectionEvent::Down(DownReason::Protocol { reason, .. })) => {
            assert!(
                reason.contains("101 bytes") && reason.contains("max_frame"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(shared.is_down());
}

#[tokio::test]
async fn reader_reports_a_malformed_frame_and_a_closed_socket() {
    let (ours, mut theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    let (r, mut events) = reader(ours, BytesMut::new(), shared, 1 << 20);
    tokio::spawn(r.run());
    theirs.write_all(&[0, 0, 0, 2, 42, 42]).await.unwrap();
    assert!(matches!(
        events.recv().await,
        Some(ConnectionEvent::Down(DownReason::Protocol { .. }))
    ));

    let (ours, theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    let (r, mut events) = reader(ours, BytesMut::new(), shared, 1 << 20);
    tokio::spawn(r.run());
    drop(theirs);
    assert!(matches!(
        events.recv().await,
        Some(ConnectionEvent::Down(DownReason::PeerClosed { .. }))
    ));
}

#[tokio::test]
async fn reader_delivers_a_message_split_across_reads() {
    use crate::message::Message;
    use beamlink_term::{Atom, Pid, Term};
    let (ours, mut theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    let (r, mut events) = reader(ours, BytesMut::new(), shared.clone(), 1 << 20);
    tokio::spawn(r.run());
    let from = Pid {
        node: Atom::new("a@h"),
        id: 1,
        serial: 0,
        creation: 1,
    };
    let msg = Message::reg_send(from, Atom::new("sink"), Term::from("hello"));
    let packets = FrameEncoder::new(0x2000, 0).encode(&msg).unwrap();
    for p in &packets {
        for byte in p.iter() {
            theirs.write_all(&[*byte]).await.unwrap();
        }
    }
    match events.recv().await {
        Some(ConnectionEvent::Message(m)) => assert_eq!(m, msg),
        other => panic!("{other:?}"),
    }
    assert_eq!(shared.counters.snapshot().messages_in, 1);
}

#[tokio::test]
async fn dropping_the_event_receiver_closes_the_connection() {
    let (ours, _theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    let (r, events) = reader(ours, BytesMut::new(), shared.clone(), 1 << 20);
    let task = tokio::spawn(r.run());
    drop(events);
    task.await.unwrap();
    assert!(matches!(shared.reason(), Some(DownReason::LocalClose { .. })));
}

#[tokio::test]
async fn reader_reads_a_large_frame_to_its_end_then_the_next_ones() {
    use crate::message::Message;
    use beamlink_term::{Atom, Pid, Term};
    let (ours, mut theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    let (r, mut events) = reader(ours, BytesMut::new(), shared.clone(), 1 << 24);
    tokio::spawn(r.run());
    let from = Pid {
        node: Atom::new("a@h"),
        id: 1,
        serial: 0,
        creation: 1,
    };
    let big = Message::reg_send(
        from.clone(),
        Atom::new("sink"),
        Term::Binary(Bytes::from(vec![3u8; 300_000])),
    );
    let small = Message::reg_send(from, Atom::new("sink"), Term::from("after"));
    let mut encoder = FrameEncoder::new(0x2000, 0);
    let mut wire = Vec::new();
    for m in [&small, &big, &small, &big, &small] {
        for p in encoder.encode(m).unwrap() {
            wire.extend_from_slice(&p);
        }
    }
    let writer = tokio::spawn(async move {
        // Odd-sized writes, so frames straddle reads.
        for chunk in wire.chunks(70_001) {
            theirs.write_all(chunk).await.unwrap();
        }
        theirs
    });
    for want in [&small, &big, &small, &big, &small] {
        match events.recv().await {
            Some(ConnectionEvent::Message(m)) => assert_eq!(&m, want),
            other => panic!("{other:?}"),
        }
    }
    let _theirs = writer.await.unwrap();
    assert_eq!(shared.counters.snapshot().frames_in, 5);
}

#[tokio::test(start_paused = true)]
async fn writer_blocked_on_a_full_socket_stops_when_the_connection_goes_down() {
    // A pipe of 8 bytes that nobody reads: the second tick blocks.
    let (ours, _theirs) = duplex(8);
    let shared = Arc::new(Shared::new("peer@h".into()));
    let task = tokio::spawn(writer(ours, shared.clone()).run());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        shared.counters.snapshot().ticks_out,
        2,
        "two ticks fit, the third blocks"
    );
    shared.go_down(DownReason::TickTimeout {
        peer: "peer@h".into(),
        ticktime: Duration::from_secs(4),
    });
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("writer stopped")
        .unwrap();
}

#[tokio::test]
async fn writer_sends_queued_messages_byte_for_byte_large_binaries_uncopied() {
    use crate::message::Message;
    use beamlink_term::{Atom, Pid, Term};
    let (ours, mut theirs) = duplex(1 << 16);
    let shared = Arc::new(Shared::new("peer@h".into()));
    let pid = |id| Pid {
        node: Atom::new("me@h"),
        id,
        serial: 0,
        creation: 1,
    };
    let big = Term::binary((0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let msgs = vec![
        Message::send_sender(pid(1), pid(9), Term::Int(1)),
        Message::send_sender(pid(2), pid(9), big.clone()),
        Message::send_sender(pid(1), pid(9), Term::Int(2)),
        Message::send_sender(pid(2), pid(9), Term::tuple(vec![big, Term::Int(3)])),
        Message::send_sender(pid(2), pid(9), Term::Int(4)),
    ];
    for m in &msgs {
        shared.push(super::lane_of(m), m, true).unwrap();
    }
    assert!(shared.queue.queued_bytes() > 400_000);
    shared.queue.close();
    let task = tokio::spawn(writer(ours, shared.clone()).run());
    let mut all = Vec::new();
    theirs.read_to_end(&mut all).await.unwrap();
    task.await.unwrap();
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    let mut got = Vec::new();
    let mut rest = Bytes::from(all);
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let frame = rest.slice(4..4 + len);
        rest = rest.slice(4 + len..);
        got.extend(decoder.decode(frame).unwrap());
    }
    assert!(rest.is_empty());
    // Within a sender's lane, order is kept; lanes interleave packet by packet.
    let lane = |p: u32| -> Vec<&Message> {
        got.iter()
            .filter(|m| matches!(&m.control, crate::ControlMessage::SendSender { from, .. } if from.id == p))
            .collect()
    };
    assert_eq!(lane(1), vec![&msgs[0], &msgs[2]]);
    assert_eq!(lane(2), vec![&msgs[1], &msgs[3], &msgs[4]]);
    let stats = shared.counters.snapshot();
    assert_eq!((stats.messages_out, stats.frames_out), (5, 5));
    assert_eq!((shared.queue.len(), shared.queue.queued_bytes()), (0, 0));
}

#[test]
fn bounded_pushes_wait_for_the_bytes_to_be_written_too() {
    use super::send_queue::Refused;
    use crate::message::Message;
    use beamlink_term::{Atom, Pid, Term};
    let shared = Shared::new("peer@h".into());
    let to = Pid {
        node: Atom::new("peer@h"),
        id: 1,
        serial: 0,
        creation: 1,
    };
    let big = Message::send(to.clone(), Term::binary(vec![1u8; 5 << 20]));
    let small = Message::send(to, Term::Int(1));
    // Into an empty queue a message goes, however large; then the queue is full by
    // bytes, though it holds one message of 1024.
    assert!(shared.push(0, &big, true).is_ok());
    assert!(matches!(shared.push(0, &small, true), Err(Refused::Full)));
    // An unbounded push (the node's `send`, which never waits) still goes in.
    assert!(shared.push(0, &small, false).is_ok());
    let mut batch = std::collections::VecDeque::new();
    while !matches!(shared.queue.take(&mut batch, 1 << 20, 512), Ok(0)) {
        batch.clear();
    }
    assert!(shared.push(0, &small, true).is_ok());
}
