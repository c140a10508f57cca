"""One MIDI input's bytes as a stream: running status, several messages per event, junk counted.

Why a stream and not one message per read: with the JACK API, RtMidi hands
over each JACK MIDI event whole, and an event may hold running status (`90 40
64 40 00`: a note on, then a note off without its status byte) or two complete
messages. `mido.Message.from_bytes` refuses both outright, dropping note-offs
with them (stuck notes), and `mido.Parser` (1.3) does not implement running
status at all. So each port keeps one `MidiStream`, fed every event it
delivers in order, and it follows the MIDI 1.0 wire rules:

- a channel status byte (0x80..0xEF) starts a message and becomes the running
  status: data bytes after a complete message start another of the same kind;
- system common messages (0xF1..0xF6) cancel running status, SysEx (0xF0 to
  0xF7) too; SysEx data is skipped (nothing here uses it; the ports ask
  RtMidi to drop it anyway) and counted as ignored;
- real-time bytes (0xF8..0xFF) may come anywhere, even inside a message, and
  leave it and the running status alone;
- junk (a data byte with no status to belong to, a message cut off by a new
  status byte, an undefined status byte 0xF4/0xF5/0xF9/0xFD, a stray 0xF7)
  yields nothing and is counted in `garbage` (bytes).

State carries from one event to the next, as on a wire: running status set
by one event applies to the next, and a message cut at an event's end is
completed by the next event's data bytes (or dropped, counted, by its status
byte). ALSA delivers complete messages, which this reads the same way.
"""

from __future__ import annotations

from typing import Iterable

import mido

SYSEX, SYSEX_END = 0xF0, 0xF7
# data bytes after each status (channel messages by their high nibble)
_CHANNEL_LENGTH = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_COMMON_LENGTH = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0}
_REAL_TIME = frozenset({0xF8, 0xFA, 0xFB, 0xFC, 0xFE, 0xFF})  # 0xF9 and 0xFD are undefined


class MidiStream:
    """Bytes of one port -> mido Messages (see the module docstring). One thread."""

    def __init__(self) -> None:
        self._status = 0  # of the message being read (0: none)
        self._need = 0  # data bytes it takes
        self._data: list[int] = []
        self._running = False  # the status stays for the next message (channel messages)
        self._fresh = False  # a status byte read, its message not complete yet
        self._in_sysex = False
        self.messages = 0
        self.garbage = 0  # bytes that formed no message
        self.ignored = 0  # SysEx messages skipped

    def feed(self, data: Iterable[int]) -> list[mido.Message]:
        """The messages completed by these bytes, in order."""
        out: list[mido.Message] = []
        for byte in data:
            byte = int(byte)
            if not 0 <= byte <= 0xFF:
                self.garbage += 1
            elif byte >= 0xF8:
                if byte in _REAL_TIME:
                    self._emit(out, [byte])
                else:
                    self.garbage += 1
            elif byte >= 0x80:
                self._status_byte(byte, out)
            else:
                self._data_byte(byte, out)
        return out

    @property
    def idle(self) -> bool:
        """No message is half read and no SysEx is open: a complete message may be read
        elsewhere (serve --jack's compiled note path) and reported with `passed`."""
        return not self._data and not self._fresh and not self._in_sysex

    def passed(self, status: int, count: int = 1) -> None:
        """`count` complete channel messages were read elsewhere while idle, the last with
        this status byte: count them, and its status runs on as the wire rules say."""
        self._status, self._need, self._running = status, _CHANNEL_LENGTH[status & 0xF0], True
        self.messages += count

    def _status_byte(self, byte: int, out: list[mido.Message]) -> None:
        if self._in_sysex:
            self._in_sysex = False
            if byte == SYSEX_END:
                self.ignored += 1
                return
            self.garbage += 1  # a SysEx cut off by another status: its start byte counted
        elif byte == SYSEX_END:
            self.garbage += 1  # an end without a start
            self._clear()
            return
        # the message being read, if any, is cut off: its bytes are junk
        self.garbage += len(self._data) + (1 if self._fresh else 0)
        self._clear()
        if byte == SYSEX:
            self._in_sysex = True
            return
        if byte < 0xF0:
            self._status, self._need, self._running = byte, _CHANNEL_LENGTH[byte & 0xF0], True
            self._fresh = True
        elif _COMMON_LENGTH.get(byte) == 0:
            self._emit(out, [byte])  # tune request: complete as it is
        elif byte in _COMMON_LENGTH:
            self._status, self._need, self._fresh = byte, _COMMON_LENGTH[byte], True
        else:
            self.garbage += 1  # 0xF4, 0xF5: undefined (they cancel running status)

    def _data_byte(self, byte: int, out: list[mido.Message]) -> None:
        if self._in_sysex:
            return
        if not self._status:
            self.garbage += 1
            return
        self._data.append(byte)
        if len(self._data) < self._need:
            return
        self._emit(out, [self._status, *self._data])
        self._data, self._fresh = [], False
        if not self._running:
            self._clear()

    def _emit(self, out: list[mido.Message], message: list[int]) -> None:
        try:
            out.append(mido.Message.from_bytes(message))
        except (ValueError, TypeError, IndexError):  # not expected: lengths and ranges fit
            self.garbage += len(message)
            return
        self.messages += 1

    def _clear(self) -> None:
        self._status, self._need, self._data = 0, 0, []
        self._running = self._fresh = False
