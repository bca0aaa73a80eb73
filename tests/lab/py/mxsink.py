#!/usr/bin/python3
"""mxsink - the lab's MX server: a small threaded ESMTP sink.

SYNOPSIS
    mxsink.py --listen ADDR:PORT [--listen [V6ADDR]:PORT ...]
              [--cert FILE --key FILE] [--mode normal|reset-in-data|tempfail|chaos]
              [--reset-after N] [--maildir DIR] [--name HOSTNAME]
              [--pidfile FILE] [--size-limit N] [--timeout SECONDS]
              [--connlog FILE] [--chaos-seed N] [--chaos-rate P]
              [--chaos-stall SECONDS] [--chaos-actions A,B,...]
              [--chaos-slow MIN:MAX] [--reply-delay-ms N]

DESCRIPTION
    Speaks ESMTP on every --listen address (one thread per connection) and
    stores each accepted message as DIR/N.eml (the message exactly as
    received, dot-unstuffed, CRLF kept) and DIR/N.json (envelope, TLS, peer,
    size, sha256 of the .eml).  Both are written as a temporary file and
    renamed; the .json comes last, so a test that sees N.json can read N.eml.

    EHLO offers PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES and,
    with --cert/--key and before TLS, STARTTLS.  Replies are queued and
    flushed only when no further complete command is buffered (as Postfix's
    smtpd does), so pipelined commands get grouped replies, one per command,
    in order.  RCPT replies echo the address: "250 2.1.5 <addr> ok".
    Plaintext pipelined after STARTTLS is discarded and logged.

    Modes:
      normal         accept everything (within --size-limit)
      reset-in-data  once --reset-after octets (default 512) of DATA have
                     arrived, or at the end of DATA if the message is
                     shorter, close the connection with a TCP RST
                     (SO_LINGER 0); nothing is stored
      tempfail       reply "451 4.3.0" to the end of DATA; nothing is stored
      chaos          (tests/lab/soak) behave as normal, except that, drawn
                     at random (--chaos-seed, --chaos-rate P), a fault hits
                     a connection or a transaction:
                     - per connection, with probability P/2, one of
                       greeting-4xx (421 instead of the greeting, close),
                       stall-greeting (no greeting: sleep --chaos-stall
                       seconds, then close), ehlo-4xx (421 to the first
                       EHLO, close), stall-ehlo, starttls-4xx (454 to
                       STARTTLS, the session goes on in plaintext);
                     - per connection, with probability P, a delay that is
                       no fault: slow-greeting or slow-tls (--chaos-slow,
                       default 0.3:2 seconds before the greeting, or
                       before the TLS handshake),
                       so that upstreams sit before STARTTLS or in the
                       handshake for a while;
                     - per transaction (at MAIL), with probability P, one
                       of mail-4xx, rcpt-4xx (the first RCPT), data-4xx
                       (451 to DATA), eod-4xx (451 after the final dot,
                       nothing stored), reset-mid-data (TCP RST after a
                       random number of octets of DATA, nothing stored),
                       reset-after-dot (the message IS stored, then TCP RST
                       instead of the reply: the client may send it again,
                       RFC 1047), stall-mail, stall-rcpt, stall-data (no
                       354), stall-mid-data (stop reading), stall-eod (no
                       reply to the final dot; nothing stored); a stall
                       sleeps --chaos-stall seconds (longer than the
                       client's timeout) and closes.
                     --chaos-actions limits the draw to the actions named.
                     SIGUSR1 turns the faults off (the sink behaves as
                     normal from then on, also in open sessions), SIGUSR2
                     on again.  Every fault applied is in the connlog.

    SIGHUP reloads --cert/--key (new handshakes use the new files; a file
    that does not load is logged and the old certificate kept).

    --idle-close-file FILE: while FILE exists, a connection that has
    delivered a message and waits for a command with no transaction open
    is closed by the sink (end_reason "idle-close"): an MX that hangs up
    on an idle client (scenarios/conncache.sh).  Checked every 50 ms.

    --connlog FILE appends one JSON line per connection when it ends (one
    write(2), O_APPEND): peer and local address (ADDR:PORT, [V6]:PORT),
    start and end (epoch seconds), "ehlo" (EHLO/HELO seen before TLS),
    "starttls" (the client sent STARTTLS and got 220), "tls" (version, or
    null), "tls_error" (why the handshake failed, or null), "sni",
    "ehlo_after_tls", "mails" (MAIL commands accepted), "rcpts" (every
    accepted RCPT address, in order), "msgs" (numbers of the messages
    stored), "end_reason" (QUIT, EOF, reset, ...), and when things
    happened (epoch seconds, 0.1 ms): "t_starttls" (the 220 to STARTTLS
    sent), "t_tls" (the handshake done), "t_ehlo_tls" (the first EHLO after
    it), "t_rcpts" (one per accepted RCPT).  Tests use it to count what
    each client connection got to, and when, independently of the client.

    --reply-delay-ms N waits N ms before each write of replies (the
    greeting, each reply or pipelined group of replies): an MX that far
    away (one round trip each), for benchmarks; netem is not in every
    kernel.

    The pid file is written after every listener is bound: its existence
    means the sink accepts connections.  SIGTERM/SIGINT remove it and exit.

    Only the Python standard library is used.  Memory per connection is
    bounded: message data is streamed to disk.
"""

import argparse
import hashlib
import json
import os
import random
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time

MAX_CMD_LINE = 4096          # RFC 5321 says 512; be generous, but bounded
MAX_DATA_CHUNK = 65536       # longest piece of a DATA line handled at once
MAX_RCPTS = 1000

log_lock = threading.Lock()

# mode chaos: what may happen (see the top), and whether it does now
CONN_FAULTS = ["greeting-4xx", "stall-greeting", "ehlo-4xx", "stall-ehlo", "starttls-4xx"]
CONN_DELAYS = ["slow-greeting", "slow-tls"]
TXN_FAULTS = ["mail-4xx", "rcpt-4xx", "data-4xx", "eod-4xx", "reset-mid-data",
              "reset-after-dot", "stall-mail", "stall-rcpt", "stall-data",
              "stall-mid-data", "stall-eod"]
CHAOS = {"on": True, "conns": 0}
chaos_lock = threading.Lock()


def log_as(name, fmt, *args):
    """log_as - one timestamped line to stderr, as server NAME (also used
    by hostile_mx.py)"""
    msg = fmt % args if args else fmt
    t = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)
    with log_lock:
        sys.stderr.write("%s %s[%d]: %s\n" % (stamp, name, os.getpid(), msg))
        sys.stderr.flush()


def log(fmt, *args):
    """log - one timestamped line to stderr"""
    log_as(OPTS.name, fmt, *args)


def append_json_line(path, rec):
    """append_json_line - one JSON object as one line, in one write(2) with
    O_APPEND, so concurrent writers never interleave (also used by
    hostile_mx.py)"""
    line = (json.dumps(rec, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def parse_listen(spec):
    """parse_listen - "1.2.3.4:25" or "[2001:db8::1]:25" -> (family, host, port)"""
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]:")
        return socket.AF_INET6, host, int(port)
    host, _, port = spec.rpartition(":")
    if ":" in host:
        raise ValueError("IPv6 address must be in brackets: %s" % spec)
    return socket.AF_INET, host, int(port)


class Dropped(Exception):
    """The peer went away (EOF, reset, timeout) or we reset it."""


class Store:
    """Numbered message store shared by all sessions of this process."""

    def __init__(self, maildir):
        self.dir = maildir
        self.lock = threading.Lock()
        os.makedirs(maildir, exist_ok=True)
        top = 0
        for f in os.listdir(maildir):
            stem = f.split(".")[0]
            if stem.isdigit():
                top = max(top, int(stem))
        self.next = top + 1

    def allocate(self):
        with self.lock:
            n = self.next
            self.next += 1
            return n


class Session:
    """One SMTP server session."""

    def __init__(self, sock, peer, local):
        self.sock = sock
        self.peer = peer
        self.local = local
        self.buf = bytearray()
        self.pos = 0
        self.out = []
        self.tls = None
        self.cipher = None
        self.sni = None
        self.reset_txn()
        self.helo = None
        self.helo_cmd = None
        self.start = time.time()
        self.c_ehlo = False
        self.c_starttls = False
        self.c_tls_error = None
        self.c_tls_resumed = False
        self.c_ehlo_after_tls = False
        self.c_mails = 0
        self.c_rcpts = []
        self.c_msgs = []
        self.c_end = None
        self.t_starttls = None
        self.t_tls = None
        self.t_ehlo_tls = None
        self.t_rcpts = []
        self.c_chaos = []
        self.conn_fault = None      # mode chaos: this connection's fault, delay,
        self.conn_delay = None      # and the current transaction's fault
        self.txn_fault = None
        self.rcpt_seen = False
        if OPTS.mode == "chaos":
            with chaos_lock:
                CHAOS["conns"] += 1
                k = CHAOS["conns"]
            self.rng = random.Random("%s:%s:%s:%d" % (OPTS.chaos_seed, OPTS.name, local, k))
            self.conn_fault = self.draw(CONN_FAULTS, OPTS.chaos_rate / 2)
            self.conn_delay = self.draw(CONN_DELAYS, OPTS.chaos_rate)

    # ---- mode chaos --------------------------------------------------------

    def draw(self, actions, p):
        """draw - one of the allowed actions with probability p, else None"""
        allowed = [a for a in actions if a in OPTS.chaos_allowed
                   and (OPTS.cert or a not in ("starttls-4xx", "slow-tls"))]
        if not allowed or self.rng.random() >= p:
            return None
        return self.rng.choice(allowed)

    def chaos(self, action):
        """chaos - is ACTION planned for now, and are faults on?"""
        if action not in (self.conn_fault, self.conn_delay, self.txn_fault):
            return False
        if not CHAOS["on"]:
            return False
        return True

    def note(self, action, **kw):
        ent = {"action": action, "t": round(time.time(), 3)}
        ent.update(kw)
        self.c_chaos.append(ent)
        log("%s chaos: %s%s", self.peer, action,
            "".join(" %s=%s" % kv for kv in sorted(kw.items())))

    def stall(self, action):
        """stall - say nothing for --chaos-stall seconds, then close"""
        self.note(action)
        self.flush()
        time.sleep(OPTS.chaos_stall)
        raise Dropped("chaos %s: stalled %g s, closing" % (action, OPTS.chaos_stall))

    def chaos_rst(self, action, **kw):
        self.note(action, **kw)
        self.out = []
        self.rst()
        raise Dropped("reset by mxsink (chaos %s)" % action)

    def delay(self, action):
        d = round(self.rng.uniform(*OPTS.chaos_slow), 3)
        self.note(action, seconds=d)
        self.flush()
        time.sleep(d)

    def connlog(self):
        if not OPTS.connlog:
            return
        rec = {
            "peer": self.peer, "local": self.local, "name": OPTS.name,
            "start": round(self.start, 4), "end": round(time.time(), 3),
            "ehlo": self.c_ehlo, "starttls": self.c_starttls, "tls": self.tls,
            "tls_resumed": self.c_tls_resumed,
            "tls_error": self.c_tls_error, "sni": self.sni,
            "ehlo_after_tls": self.c_ehlo_after_tls, "mails": self.c_mails,
            "rcpts": self.c_rcpts, "msgs": self.c_msgs, "end_reason": self.c_end,
            "t_starttls": self.t_starttls, "t_tls": self.t_tls,
            "t_ehlo_tls": self.t_ehlo_tls, "t_rcpts": self.t_rcpts,
        }
        if OPTS.mode == "chaos":
            rec["chaos"] = self.c_chaos
        append_json_line(OPTS.connlog, rec)

    # ---- I/O -------------------------------------------------------------

    def flush(self):
        if self.out:
            data = b"".join(self.out)
            self.out = []
            if OPTS.reply_delay:
                time.sleep(OPTS.reply_delay)
            try:
                self.sock.sendall(data)
            except OSError as e:
                raise Dropped("write: %s" % e)

    def reply(self, text):
        log("%s -> %s", self.peer, text)
        self.out.append(text.encode("utf-8", "replace") + b"\r\n")

    def have_line(self):
        return self.buf.find(b"\n", self.pos) >= 0

    def fill(self):
        """Read more input; flush pending replies first (we may block)."""
        self.flush()
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0
        try:
            data = self.sock.recv(65536)
        except (OSError, ssl.SSLError) as e:
            raise Dropped("read: %s" % e)
        if not data:
            raise Dropped("EOF")
        self.buf += data

    def idle_close(self):
        """--idle-close-file: hang up on an idle client after a message."""
        if not OPTS.idle_close_file or not self.c_msgs or self.mail_from is not None:
            return
        self.flush()
        end = time.time() + OPTS.timeout
        while self.buf.find(b"\n", self.pos) < 0 and time.time() < end:
            if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
                return
            if os.path.exists(OPTS.idle_close_file):
                raise Dropped("idle-close")
            r, _, _ = select.select([self.sock], [], [], 0.05)
            if r:
                return

    def readline(self, limit):
        """Return (bytes, complete): a line ending in LF, or `limit` bytes."""
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0 and i - self.pos < limit:
                line = bytes(self.buf[self.pos:i + 1])
                self.pos = i + 1
                return line, True
            if len(self.buf) - self.pos >= limit:
                line = bytes(self.buf[self.pos:self.pos + limit])
                self.pos += limit
                return line, False
            self.fill()

    def rst(self):
        """Abort the connection with a TCP RST."""
        try:
            raw = self.sock
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            # For an SSLSocket, close() closes the fd without close_notify.
            self.sock.close()
        except OSError:
            pass

    # ---- SMTP ------------------------------------------------------------

    def reset_txn(self):
        self.mail_from = None
        self.mail_params = []
        self.rcpts = []
        self.rcpt_params = []

    def ehlo_lines(self):
        ext = ["PIPELINING", "SIZE %d" % OPTS.size_limit, "8BITMIME", "SMTPUTF8",
               "ENHANCEDSTATUSCODES"]
        if OPTS.cert and self.tls is None:
            ext.append("STARTTLS")
        lines = [OPTS.name] + ext
        return ["250-" + l for l in lines[:-1]] + ["250 " + lines[-1]]

    def run(self):
        log("connect from %s to %s", self.peer, self.local)
        try:
            if self.chaos("greeting-4xx"):
                self.note("greeting-4xx")
                self.reply("421 4.3.2 %s chaos: service not available, closing" % OPTS.name)
                self.flush()
                raise Dropped("chaos greeting-4xx")
            if self.chaos("stall-greeting"):
                self.stall("stall-greeting")
            if self.chaos("slow-greeting"):
                self.delay("slow-greeting")
            self.reply("220 %s ESMTP mxsink" % OPTS.name)
            while True:
                self.idle_close()
                line, complete = self.readline(MAX_CMD_LINE)
                if not complete:
                    # swallow the rest of the over-long line
                    while not complete:
                        _, complete = self.readline(MAX_CMD_LINE)
                    self.reply("500 5.5.2 line too long")
                    continue
                cmdline = line.rstrip(b"\r\n").decode("utf-8", "replace")
                log("%s <- %s", self.peer, cmdline)
                verb, _, arg = cmdline.partition(" ")
                verb = verb.upper()
                handler = getattr(self, "cmd_" + verb, None)
                if handler is None:
                    self.reply("500 5.5.2 command not recognized")
                    continue
                if handler(arg.strip()) == "quit":
                    self.flush()
                    self.c_end = "QUIT"
                    break
        except Dropped as e:
            log("%s dropped: %s", self.peer, e)
            self.c_end = str(e)
        except Exception as e:  # a sink bug must not kill the sink
            log("%s internal error: %r", self.peer, e)
            self.c_end = "internal error: %r" % e
        finally:
            try:
                self.sock.close()
            except OSError:
                pass
            log("disconnect from %s", self.peer)
            try:
                self.connlog()
            except OSError as e:
                log("connlog: %s", e)

    def chaos_ehlo(self):
        if self.c_ehlo or self.c_ehlo_after_tls:
            return                  # only the first EHLO/HELO
        if self.chaos("ehlo-4xx"):
            self.note("ehlo-4xx")
            self.reply("421 4.3.2 %s chaos: EHLO refused, closing" % OPTS.name)
            self.flush()
            raise Dropped("chaos ehlo-4xx")
        if self.chaos("stall-ehlo"):
            self.stall("stall-ehlo")

    def cmd_EHLO(self, arg):
        if not arg:
            self.reply("501 5.5.4 EHLO needs a name")
            return
        self.chaos_ehlo()
        self.helo, self.helo_cmd = arg, "EHLO"
        self.mark_ehlo()
        self.reset_txn()
        for l in self.ehlo_lines():
            self.reply(l)

    def cmd_HELO(self, arg):
        if not arg:
            self.reply("501 5.5.4 HELO needs a name")
            return
        self.chaos_ehlo()
        self.helo, self.helo_cmd = arg, "HELO"
        self.mark_ehlo()
        self.reset_txn()
        self.reply("250 %s" % OPTS.name)

    def mark_ehlo(self):
        if self.tls is not None:
            self.c_ehlo_after_tls = True
            if self.t_ehlo_tls is None:
                self.t_ehlo_tls = round(time.time(), 4)
        else:
            self.c_ehlo = True

    def cmd_NOOP(self, arg):
        self.reply("250 2.0.0 Ok")

    def cmd_RSET(self, arg):
        self.reset_txn()
        self.reply("250 2.0.0 Ok")

    def cmd_VRFY(self, arg):
        self.reply("252 2.0.0 Send some mail, I'll try my best")

    def cmd_QUIT(self, arg):
        self.reply("221 2.0.0 Bye")
        return "quit"

    def cmd_BDAT(self, arg):
        self.reply("502 5.5.1 BDAT not implemented")

    def cmd_STARTTLS(self, arg):
        if not OPTS.cert or self.tls is not None:
            self.reply("502 5.5.1 STARTTLS not available")
            return
        if arg:
            self.reply("501 5.5.4 Syntax: STARTTLS")
            return
        if self.chaos("starttls-4xx"):
            self.note("starttls-4xx")
            self.reply("454 4.7.0 chaos: TLS not available now")
            return
        self.reply("220 2.0.0 Ready to start TLS")
        self.flush()
        self.c_starttls = True
        self.t_starttls = round(time.time(), 4)
        if self.chaos("slow-tls"):
            self.delay("slow-tls")
        pending = len(self.buf) - self.pos
        if pending:
            log("%s discarding %d octets of plaintext sent after STARTTLS", self.peer, pending)
        self.buf = bytearray()
        self.pos = 0
        try:
            self.sock = TLS["ctx"].wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            self.c_tls_error = str(e)
            raise Dropped("TLS handshake failed: %s" % e)
        self.tls = self.sock.version()
        self.t_tls = round(time.time(), 4)
        self.cipher = self.sock.cipher()[0]
        self.sni = getattr(self.sock, "lab_sni", None)
        self.c_tls_resumed = bool(self.sock.session_reused)
        log("%s TLS established: %s %s sni=%s%s", self.peer, self.tls, self.cipher, self.sni,
            " (resumed)" if self.c_tls_resumed else "")
        self.helo = None
        self.helo_cmd = None
        self.reset_txn()

    @staticmethod
    def path_arg(arg, keyword):
        """Split 'FROM:<a> P1 P2' into ('a', ['P1','P2']) or None."""
        if arg[:len(keyword)].upper() != keyword:
            return None
        rest = arg[len(keyword):].lstrip()
        if not rest.startswith("<"):
            return None
        end = rest.find(">")
        if end < 0:
            return None
        return rest[1:end], rest[end + 1:].split()

    def cmd_MAIL(self, arg):
        if self.helo is None:
            self.reply("503 5.5.1 Error: send HELO/EHLO first")
            return
        if self.mail_from is not None:
            self.reply("503 5.5.1 Error: nested MAIL command")
            return
        p = self.path_arg(arg, "FROM:")
        if p is None:
            self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        addr, params = p
        if OPTS.mode == "chaos":
            self.txn_fault = self.draw(TXN_FAULTS, OPTS.chaos_rate)
            self.rcpt_seen = False
            if self.chaos("mail-4xx"):
                self.note("mail-4xx")
                self.reply("451 4.3.0 chaos: MAIL deferred")
                return
            if self.chaos("stall-mail"):
                self.stall("stall-mail")
        for prm in params:
            k, _, v = prm.partition("=")
            if k.upper() == "SIZE" and v.isdigit() and int(v) > OPTS.size_limit:
                self.reply("552 5.3.4 Message size exceeds fixed limit")
                return
        self.mail_from, self.mail_params = addr, params
        self.c_mails += 1
        self.reply("250 2.1.0 <%s> ok" % addr)

    def cmd_RCPT(self, arg):
        if self.mail_from is None:
            self.reply("503 5.5.1 Error: need MAIL command")
            return
        p = self.path_arg(arg, "TO:")
        if p is None or not p[0]:
            self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        if len(self.rcpts) >= MAX_RCPTS:
            self.reply("452 4.5.3 Error: too many recipients")
            return
        first, self.rcpt_seen = not self.rcpt_seen, True
        if first and self.chaos("rcpt-4xx"):
            self.note("rcpt-4xx")
            self.reply("450 4.2.0 <%s> chaos: recipient deferred" % p[0])
            return
        if first and self.chaos("stall-rcpt"):
            self.stall("stall-rcpt")
        self.rcpts.append(p[0])
        self.rcpt_params.append(p[1])
        self.c_rcpts.append(p[0])
        self.t_rcpts.append(round(time.time(), 4))
        self.reply("250 2.1.5 <%s> ok" % p[0])

    def cmd_DATA(self, arg):
        if self.mail_from is None:
            self.reply("503 5.5.1 Error: need MAIL command")
            return
        if not self.rcpts:
            self.reply("554 5.5.1 Error: no valid recipients")
            return
        if self.chaos("data-4xx"):
            self.note("data-4xx")
            self.reply("451 4.3.0 chaos: DATA deferred")
            self.reset_txn()
            return
        if self.chaos("stall-data"):
            self.stall("stall-data")
        cut = OPTS.reset_after if OPTS.mode == "reset-in-data" else None
        mid = None
        if self.chaos("reset-mid-data") or self.chaos("stall-mid-data"):
            mid = self.txn_fault
            cut = self.rng.randint(1, 32768)
        self.reply("354 End data with <CR><LF>.<CR><LF>")
        self.flush()
        n = STORE.allocate()
        tmp_eml = os.path.join(STORE.dir, ".%d.eml.tmp" % n)
        h = hashlib.sha256()
        size = 0
        raw = 0
        bol = True          # at the beginning of a line
        prev_crlf = True    # the previous line ended in CRLF (or none yet)
        ended = False
        with open(tmp_eml, "wb") as f:
            try:
                while True:
                    piece, complete = self.readline(MAX_DATA_CHUNK)
                    raw += len(piece)
                    if bol and complete and piece == b".\r\n" and prev_crlf:
                        ended = True
                        break
                    if bol and piece.startswith(b"."):
                        piece = piece[1:]
                    f.write(piece)
                    h.update(piece)
                    size += len(piece)
                    if complete:
                        prev_crlf = piece.endswith(b"\r\n")
                    bol = complete
                    if cut is not None and raw >= cut:
                        break
            except Dropped as e:
                f.close()
                os.unlink(tmp_eml)
                raise Dropped("%s inside DATA after %d octets" % (e, raw))
        if OPTS.mode == "reset-in-data":
            os.unlink(tmp_eml)
            log("%s reset-in-data: sending RST after %d octets of DATA (end seen: %s)",
                self.peer, raw, ended)
            self.out = []
            self.rst()
            raise Dropped("reset by mxsink (mode reset-in-data)")
        if mid is not None:
            os.unlink(tmp_eml)
            if mid == "reset-mid-data":
                self.chaos_rst(mid, octets=raw, end_seen=ended)
            self.stall(mid)
        if self.chaos("eod-4xx") or self.chaos("stall-eod"):
            os.unlink(tmp_eml)
            if self.txn_fault == "stall-eod":
                self.stall("stall-eod")
            self.note("eod-4xx")
            self.reply("451 4.3.0 chaos: message not accepted, try again later")
            self.reset_txn()
            return
        if OPTS.mode == "tempfail":
            os.unlink(tmp_eml)
            self.reply("451 4.3.0 Error: lab tempfail mode")
            self.reset_txn()
            return
        if size > OPTS.size_limit:
            os.unlink(tmp_eml)
            self.reply("552 5.3.4 Message size exceeds fixed limit")
            self.reset_txn()
            return
        os.rename(tmp_eml, os.path.join(STORE.dir, "%d.eml" % n))
        rec = {
            "n": n,
            "helo": self.helo,
            "helo_cmd": self.helo_cmd,
            "mail_from": self.mail_from,
            "mail_params": self.mail_params,
            "rcpts": self.rcpts,
            "rcpt_params": self.rcpt_params,
            "tls": self.tls,
            "cipher": self.cipher,
            "sni": self.sni,
            "peer": self.peer,
            "local": self.local,
            "name": OPTS.name,
            "size": size,
            "sha256": h.hexdigest(),
            "time": time.time(),
        }
        tmp_json = os.path.join(STORE.dir, ".%d.json.tmp" % n)
        with open(tmp_json, "w") as f:
            json.dump(rec, f, indent=1, sort_keys=True)
            f.write("\n")
        os.rename(tmp_json, os.path.join(STORE.dir, "%d.json" % n))
        self.c_msgs.append(n)
        log("%s stored message %d: from=<%s> rcpts=%d size=%d tls=%s",
            self.peer, n, self.mail_from, len(self.rcpts), size, self.tls)
        if self.chaos("reset-after-dot"):
            self.chaos_rst("reset-after-dot", msg=n)
        self.reply("250 2.0.0 Ok: queued as %d" % n)
        self.reset_txn()


def fmt_addr(sa):
    host, port = sa[0], sa[1]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def serve(lsock):
    while True:
        try:
            conn, sa = lsock.accept()
        except OSError as e:
            log("accept: %s", e)
            time.sleep(0.1)
            continue
        conn.settimeout(OPTS.timeout)
        s = Session(conn, fmt_addr(sa), fmt_addr(conn.getsockname()))
        threading.Thread(target=s.run, daemon=True).start()


def pidfile_and_signals(pidfile, logf):
    """pidfile_and_signals - write the pidfile (atomically); SIGTERM and
    SIGINT remove it and exit at once (also used by rptsink.py)"""
    def bye(signum, frame):
        if pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
        logf("exiting on signal %d", signum)
        os._exit(0)

    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
    if pidfile:
        tmp = pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, pidfile)


def load_tls():
    """load_tls - a server context from --cert/--key (again at SIGHUP)"""
    return server_tls_ctx(OPTS.cert, OPTS.key)


def on_hup(signum, frame):
    if not OPTS.cert:
        log("SIGHUP: no certificate to reload")
        return
    try:
        TLS["ctx"] = load_tls()
        log("SIGHUP: reloaded %s", OPTS.cert)
    except (OSError, ssl.SSLError) as e:
        log("SIGHUP: cannot load %s / %s: %s; keeping the old certificate",
            OPTS.cert, OPTS.key, e)


def on_usr(signum, frame):
    CHAOS["on"] = signum == signal.SIGUSR2
    log("chaos faults %s (signal %d)", "on" if CHAOS["on"] else "off", signum)


def sni_cb(sslsock, server_name, ctx):
    try:
        sslsock.lab_sni = server_name
    except AttributeError:
        pass
    return None


def server_tls_ctx(cert, key):
    """server_tls_ctx - the lab servers' TLS context: TLS 1.2 or newer, the
    client's SNI noted as sslsock.lab_sni (also used by rptsink.py and
    hostile_mx.py)"""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.sni_callback = sni_cb
    return ctx


def listen_sockets(specs):
    """listen_sockets - one bound, listening TCP socket per --listen spec
    (IPv6 ones v6-only; also used by hostile_mx.py)"""
    socks = []
    for spec in specs:
        fam, host, port = parse_listen(spec)
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, port))
        s.listen(128)
        socks.append(s)
    return socks


def main():
    global OPTS, STORE, TLS
    ap = argparse.ArgumentParser(description="lab MX sink")
    ap.add_argument("--listen", action="append", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--mode", choices=["normal", "reset-in-data", "tempfail", "chaos"],
                    default="normal")
    ap.add_argument("--reset-after", type=int, default=512)
    ap.add_argument("--maildir", default="./mail")
    ap.add_argument("--name", default="mx.lab.example")
    ap.add_argument("--pidfile")
    ap.add_argument("--size-limit", type=int, default=104857600)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--connlog")
    ap.add_argument("--idle-close-file")
    ap.add_argument("--reply-delay-ms", type=float, default=0.0)
    ap.add_argument("--chaos-seed", default="0")
    ap.add_argument("--chaos-rate", type=float, default=0.2)
    ap.add_argument("--chaos-stall", type=float, default=10.0)
    ap.add_argument("--chaos-actions", default="")
    ap.add_argument("--chaos-slow", default="0.3:2.0")
    OPTS = ap.parse_args()
    if bool(OPTS.cert) != bool(OPTS.key):
        ap.error("--cert and --key go together")
    known = CONN_FAULTS + CONN_DELAYS + TXN_FAULTS
    OPTS.chaos_allowed = set(a for a in OPTS.chaos_actions.split(",") if a) or set(known)
    if OPTS.chaos_allowed - set(known):
        ap.error("unknown --chaos-actions: %s (known: %s)"
                 % (",".join(sorted(OPTS.chaos_allowed - set(known))), ",".join(known)))
    try:
        OPTS.chaos_slow = tuple(float(x) for x in OPTS.chaos_slow.split(":"))
        if len(OPTS.chaos_slow) != 2 or not 0 <= OPTS.chaos_slow[0] <= OPTS.chaos_slow[1]:
            raise ValueError
    except ValueError:
        ap.error("--chaos-slow wants MIN:MAX seconds")
    if OPTS.reply_delay_ms < 0:
        ap.error("--reply-delay-ms must not be negative")
    OPTS.reply_delay = OPTS.reply_delay_ms / 1000.0
    if not 0 <= OPTS.chaos_rate <= 1:
        ap.error("--chaos-rate must be between 0 and 1")
    TLS = {"ctx": load_tls() if OPTS.cert else None}
    STORE = Store(OPTS.maildir)
    socks = listen_sockets(OPTS.listen)

    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGUSR1, on_usr)
    signal.signal(signal.SIGUSR2, on_usr)
    pidfile_and_signals(OPTS.pidfile, log)
    log("listening on %s mode=%s tls=%s maildir=%s%s", " ".join(OPTS.listen), OPTS.mode,
        "yes" if OPTS.cert else "no", OPTS.maildir,
        " chaos seed=%s rate=%g stall=%gs" % (OPTS.chaos_seed, OPTS.chaos_rate, OPTS.chaos_stall)
        if OPTS.mode == "chaos" else "")
    for s in socks[1:]:
        threading.Thread(target=serve, args=(s,), daemon=True).start()
    serve(socks[0])


if __name__ == "__main__":
    main()
