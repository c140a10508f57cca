"""The bounded event queue: order, refusal near capacity, headroom and lost note-offs."""

import threading

from gansynth_live.engine.rt.event_queue import EventQueue
from gansynth_live.events import AllSoundOff, NoteOff, NoteOn, SustainPedal


def drain(queue):
    out = []
    while (event := queue.pop()) is not None:
        out.append(event)
    return out


def test_fifo_order_and_empty_pop():
    queue = EventQueue(16, 4)
    assert queue.pop() is None
    events = [NoteOn(60 + i) for i in range(5)]
    assert all(queue.push(e) for e in events)
    assert drain(queue) == events
    assert queue.empty()


def test_note_ons_are_refused_near_capacity_but_note_offs_fit():
    queue = EventQueue(16, 4)
    accepted = sum(queue.push(NoteOn(60)) for _ in range(20))
    assert accepted == 12 and queue.refused == 8
    assert all(queue.push(NoteOff(60)) for _ in range(4))  # the reserve
    assert len(queue) == 16 and queue.lost_critical == 0


def test_note_off_beyond_the_reserve_is_remembered_not_lost():
    queue = EventQueue(16, 4)
    for _ in range(16):
        queue.push(NoteOff(1))
    assert queue.push(NoteOff(61, channel=3))
    assert queue.push(SustainPedal(False, channel=2))
    assert queue.push(AllSoundOff())
    assert queue.lost_critical == 3 and queue.lost_pending
    keys, pedal, panic = queue.take_lost()
    assert keys.T.tolist() == [[3, 61]]
    assert pedal.tolist() == [2] and panic
    assert not queue.lost_pending and not queue.lost_note_offs.any()


def test_many_producers_one_consumer_lose_nothing_and_keep_each_producers_order():
    queue = EventQueue(256, 16)
    producers, per_producer = 4, 3000
    received = []
    done = threading.Event()

    def produce(channel):
        for i in range(per_producer):
            while not queue.push(NoteOn(i % 128, 1 + i // 128, channel)):
                pass  # refused: the consumer is behind; try again

    def consume():
        while not done.is_set() or not queue.empty():
            event = queue.pop()
            if event is not None:
                received.append(event)

    consumer = threading.Thread(target=consume)
    consumer.start()
    threads = [threading.Thread(target=produce, args=(c,)) for c in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    consumer.join()
    assert len(received) == producers * per_producer
    for channel in range(producers):
        mine = [(e.velocity - 1) * 128 + e.pitch for e in received if e.channel == channel]
        assert mine == list(range(per_producer))
    assert len(queue) == 0 and queue.empty()
