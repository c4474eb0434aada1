"""Type 1 session writes pipelined on a vpp_papi socket connection.

A blocking vpp_papi call waits a full round trip per message, and its
generic encoder spends about 19 us per ``srv6_mup_session_add_del`` turning
address strings into the wire format: together a few thousand sessions a
second.  Bulk loads (``mupvpp session load``, a plan with many Type 1
ops, ``make bench-control``) instead keep up to ``window`` requests in
flight on the same connection and encode them with one precompiled
``struct``.  Every request still gets its reply read and its ``retval``
checked, matched by context.

The fixed layout is checked against vpp_papi's own encoder for the first
message of every run: if the API definition ever differs from it, the run
falls back to vpp_papi's encoder (slower, never wrong).

Wire format (VPP binary API, network byte order; srv6_mup.api)::

    srv6_mup_session_add_del (39 octets)
    | _vl_msg_id u16 | client_index u32 | context u32 | is_add u8 |
    | ue: af u8 | un [16] | len u8 | gnb [4] | teid u32 | qfi u8 | rqi u8 |

    srv6_mup_session_add_del_reply
    | _vl_msg_id u16 | context u32 | retval i32 | replaced u8 |

The socket transport frames each message with a 16-octet header
``| u64 0 | u32 length | u32 0 |``.
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections.abc import Callable, Sequence

from mupvpp.model import Type1Session

MSG = "srv6_mup_session_add_del"
REPLY = MSG + "_reply"
_REQ = struct.Struct(">HIIBB16sB4sIBB")
_REPLY_HEAD = struct.Struct(">HIi")
_FRAME = struct.Struct(">QII")
BATCH = 32  # requests written with one send


class PipeError(RuntimeError):
    """The connection broke or VPP stopped answering."""


def _fields(s: Type1Session, is_add: bool) -> dict:
    kw = {"is_add": is_add, "ue": s.ue_prefix}
    if is_add:
        kw.update(gnb=s.gnb, teid=s.teid, qfi=s.qfi, rqi=s.rqi)
    return kw


def _pack_fast(msg_id: int, client: int, ctx: int, s: Type1Session, is_add: bool):
    ue = s.ue_prefix
    af = 1 if ue.version == 6 else 0
    addr = ue.network_address.packed.ljust(16, b"\0")
    if is_add:
        gnb, teid, qfi, rqi = s.gnb.packed, s.teid, s.qfi, int(bool(s.rqi))
    else:
        gnb, teid, qfi, rqi = b"\0\0\0\0", 0, 0, 0
    return _REQ.pack(
        msg_id, client, ctx, int(is_add), af, addr, ue.prefixlen, gnb, teid, qfi, rqi
    )


def write_type1(
    client,
    sessions: Sequence[Type1Session],
    is_add: bool = True,
    *,
    window: int = 256,
    timeout: float = 5.0,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Add (or delete) ``sessions`` through a connected vpp_papi client
    (socket transport); return each one's ``retval`` in order (0 = done).

    Raises PipeError when VPP does not answer within ``timeout`` seconds or
    the connection breaks; the caller decides what to undo."""
    n = len(sessions)
    retvals = [None] * n
    if not n:
        return []
    msgdef = client.messages[MSG]
    tr = client.transport
    msg_id = tr.get_msg_index(f"{MSG}_{msgdef.crc[2:]}")
    reply_id = tr.get_msg_index(f"{REPLY}_{client.messages[REPLY].crc[2:]}")
    if msg_id <= 0 or reply_id <= 0:
        raise PipeError(f"VPP has no {MSG} message of this API version")
    cidx = getattr(tr, "socket_index", 0) or 0
    base = _reserve_contexts(client, n)

    def papi_pack(ctx: int, s: Type1Session) -> bytes:
        kw = _fields(s, is_add)
        kw.update(_vl_msg_id=msg_id, client_index=cidx, context=ctx)
        return msgdef.pack(kw)

    pack = papi_pack
    first = papi_pack(base, sessions[0])
    if _pack_fast(msg_id, cidx, base, sessions[0], is_add) == first:

        def pack(ctx: int, s: Type1Session) -> bytes:
            return _pack_fast(msg_id, cidx, ctx, s, is_add)

    sock = getattr(tr, "socket", None)

    def send(bufs: list[bytes]) -> None:
        try:
            if sock is not None:
                sock.settimeout(timeout)
                sock.sendall(b"".join(_FRAME.pack(0, len(b), 0) + b for b in bufs))
            else:  # another transport: one write per message
                for b in bufs:
                    tr.write(b)
        except OSError as e:
            raise PipeError(f"writing to VPP: {e}") from None

    def receive() -> None:
        raw = read(timeout)
        if not raw:
            raise PipeError(f"VPP sent no reply within {timeout:g} s")
        mid, ctx, rv = _REPLY_HEAD.unpack_from(raw)
        i = (ctx - base) & 0xFFFFFFFF
        if mid == reply_id and 0 <= i < n and retvals[i] is None:
            retvals[i] = rv
            got[0] += 1
            if progress is not None:
                progress(1)
        else:  # not ours: leave it to vpp_papi's blocking calls
            client.message_queue.put_nowait(client.decode_incoming_msg(raw))

    got = [0]
    with _replies(tr) as read:
        _run(n, window, got, send, receive, pack, sessions, base)
    return retvals


def _run(n, window, got, send, receive, pack, sessions, base) -> None:
    sent = 0
    while sent < n:
        # refill in batches: one send per BATCH requests, not per reply
        while sent - got[0] > max(window - BATCH, 0):
            receive()
        k = min(BATCH, n - sent, window - (sent - got[0]))
        ctx = base + sent
        send([pack((ctx + j) & 0xFFFFFFFF, sessions[sent + j]) for j in range(k)])
        sent += k
    while got[0] < n:
        receive()


@contextlib.contextmanager
def _replies(tr):
    """A reader of whole reply messages for the duration of a run.

    vpp_papi's socket transport reads every message in a thread and hands
    it to the caller through a multiprocessing queue: about 100 us of CPU a
    message, which caps a pipeline near 10,000 a second.  For the run, that
    thread is stopped (through its own stop queue, as disconnect() does),
    replies are read straight from the socket in large reads, and the
    thread is started again afterwards with whatever else arrived queued
    for it.  Other transports keep vpp_papi's reader."""
    t = getattr(tr, "message_thread", None)
    sock = getattr(tr, "socket", None)
    if t is None or sock is None or not t.is_alive() or not hasattr(tr, "sque"):
        yield lambda timeout: tr.read(timeout=timeout)
        return
    tr.sque.put(True)
    t.join(5)
    if t.is_alive():  # it did not stop: keep reading through it
        yield lambda timeout: tr.read(timeout=timeout)
        return
    tr.sque.get()  # consume the stop request, or the new thread ends at once
    earlier = []
    while (m := tr.q.get()) is not None:  # the thread's last word is None
        earlier.append(m)
    reader = _SocketReader(sock)
    saved = sock.gettimeout()
    ok = False
    try:
        yield reader.read
        ok = True
    finally:
        if ok:
            for m in earlier + reader.rest():
                tr.q.put(m)
        else:
            # interrupted (Ctrl-C, VPP gone): the stream may be mid-reply;
            # never block on it, and let the process exit without waiting
            # for the queue's feeder thread
            tr.q.cancel_join_thread()
        sock.settimeout(saved)
        tr.message_thread = threading.Thread(target=tr.msg_thread_func, daemon=True)
        tr.message_thread.start()


class _SocketReader:
    """Whole messages from a VPP API stream socket, 64 KiB per read."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _frame(self) -> bytes | None:
        if len(self.buf) < _FRAME.size:
            return None
        size = _FRAME.unpack_from(self.buf)[1]
        end = _FRAME.size + size
        if len(self.buf) < end:
            return None
        msg = bytes(self.buf[_FRAME.size : end])
        del self.buf[:end]
        return msg

    def read(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while (msg := self._frame()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            except OSError as e:
                raise PipeError(f"reading from VPP: {e}") from None
            if not chunk:
                raise PipeError("VPP closed the API connection")
            self.buf += chunk
        return msg

    def rest(self) -> list[bytes]:
        """Messages read past the run's replies (a partial one is completed,
        so that vpp_papi's reader starts at a message boundary)."""
        out = []
        while self.buf:
            msg = self.read(5.0)
            if msg is None:
                break
            out.append(msg)
        return out


def _reserve_contexts(client, n: int) -> int:
    """n consecutive request contexts no other call of this client uses."""
    ids = client.get_context
    value, lock = getattr(ids, "context", None), getattr(ids, "lock", None)
    if value is None or lock is None:  # another vpp_papi: one at a time
        base = ids()
        for _ in range(n - 1):
            ids()
        return base
    with lock:
        base = (value.value + 1) & 0xFFFFFFFF
        value.value = (value.value + n) & 0xFFFFFFFF
    return base
