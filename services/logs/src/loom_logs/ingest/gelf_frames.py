"""Splitting a GELF TCP stream into its NUL-terminated frames, holding a bounded amount.

At most ``max_bytes`` of an unfinished frame are held. A frame that grows past that is
dropped: what was held is let go, and the rest of it is skipped as it arrives, up to its NUL,
after which frames are read again. A client that never sends a NUL so costs nothing to hold.
"""

from __future__ import annotations


class NulFrames:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._held = bytearray()
        self._skipping = False  # inside a frame already dropped, until its NUL

    def feed(self, data: bytes) -> tuple[list[bytes], int]:
        """The frames ``data`` completes, and how many frames were dropped as too large."""
        frames: list[bytes] = []
        dropped = 0
        start = 0
        while (end := data.find(b"\0", start)) != -1:
            if self._skipping:
                self._skipping = False
            elif len(self._held) + end - start > self.max_bytes:
                dropped += 1
            else:
                self._held += data[start:end]
                frames.append(bytes(self._held))
            self._held.clear()
            start = end + 1
        if not self._skipping:
            if len(self._held) + len(data) - start > self.max_bytes:
                dropped += 1
                self._held.clear()
                self._skipping = True
            else:
                self._held += data[start:]
        return frames, dropped

    def rest(self) -> bytes:
        """The unfinished frame held when the stream ended (b"" if none, or if dropped)."""
        return b"" if self._skipping else bytes(self._held)
