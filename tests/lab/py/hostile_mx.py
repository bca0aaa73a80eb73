#!/usr/bin/python3
"""hostile_mx - the lab's hostile MX server: a lenient or misbehaving ESMTP
server, to prove that mxtlsd passes nothing dangerous upstream and survives
whatever an MX answers.

SYNOPSIS
    hostile_mx.py --listen ADDR:PORT [--listen [V6ADDR]:PORT ...]
                  --mode lenient|data250|endless|longline|nul|silent
                  [--at greeting|ehlo|ehlo2|mail|rcpt|data|dot]
                  [--cert FILE --key FILE] [--name HOSTNAME]
                  [--pidfile FILE] [--log FILE]
                  [--interval S] [--time-limit S] [--max-lines N]
                  [--line-len N] [--cr-wait S] [--idle-timeout S]
                  [--conn-limit S] [--lifetime S] [--max-conns N]

DESCRIPTION
    Speaks ESMTP on every --listen address (one thread per connection).
    EHLO offers PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES
    and, with --cert/--key and before TLS, STARTTLS.  Every reply is
    written at once (no grouping).  MAIL and RCPT take any argument; a
    message is counted and hashed, never stored.

    Modes:
      lenient   a server that takes bare LF and bare CR, as well as CRLF, for
                a line end, in commands and in DATA: the data ends at a line
                that is a lone "." whatever ends it and the line before it
                (\\n.\\n, \\r.\\r, \\r\\n.\\r, \\n.\\r\\n, ...).  A CR that is the
                last octet received waits --cr-wait seconds (default 0.3)
                for an LF before it counts as a line end of its own.  What
                this server reads as a command, an MX that some sender
                smuggled past mxtlsd would execute.
      data250   answers DATA with "250 2.0.0" instead of 354 and goes on
                reading commands (so message bytes would be commands)
      endless   the reply at --at (default ehlo) never ends: "CODE-..." lines,
                one every --interval seconds (default 0: as fast as the peer
                reads), until the peer goes, --time-limit seconds (default
                20) or --max-lines lines (default 1000000); then it closes
      longline  the reply at --at (default greeting) is one line of
                --line-len octets of text (default 65536), then the session
                goes on normally
      nul       the reply at --at (default greeting) has a NUL octet in its
                text (every line of a multi-line reply), then the session
                goes on normally
      silent    at --at (default greeting) it says nothing: no greeting
                (greeting), no reply to DATA (data), 354 and the message
                read but no reply to the final dot (dot), ...; it reads and
                discards until the peer goes or --time-limit seconds

    Every mode except lenient takes a command line to end at LF (a CR
    before it stripped) and the data to end only at CRLF.CRLF, as a
    strict server does.  --at: greeting; ehlo (the first EHLO or HELO)
    or ehlo2 (EHLO after STARTTLS); mail, rcpt, data (the reply to those
    commands); dot (the reply to the end of data).  The reply codes are
    those of a normal session (220, 250, 354).

    --log FILE appends one JSON object a line (one write(2) each, O_APPEND),
    with "t" (epoch seconds), "conn" (connection number, counted from 1 in
    this process), "peer", "local" and "event":
      connect, disconnect ("reason"), tls ("version")
      command   "line" (the octets read, latin-1; without the line end),
                "term" ("crlf", "lf", "cr", or "none" for an over-long
                piece), "verb" (upper case), "state" (start, idle, mail,
                rcpt: the state in which the line was read), "tls"
      data-end  "before" and "term" (the line ends around the "." line),
                "strict" (it was CRLF.CRLF), "octets", "sha256"
      hostile   "mode", "stage", "lines" (lines sent), "octets",
                "seconds", "end" (why it stopped)
    A test reads it to see every command the MX executed, whatever mxtlsd
    thinks it sent.  The human-readable log goes to stderr.

    Bounds: a read waits at most --idle-timeout seconds (default 30), a
    connection lasts at most --conn-limit seconds (default 120), the
    process exits after --lifetime seconds (default 900) and accepts at
    most --max-conns connections (default 10000).  A command line is cut
    at 4096 octets, a data line at 65536.  The pid file is written after
    every listener is bound; SIGTERM/SIGINT remove it and exit.

    Only the Python standard library is used.
"""

import argparse
import hashlib
import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mxsink import (append_json_line, fmt_addr, listen_sockets, log_as,  # noqa: E402
                    pidfile_and_signals, server_tls_ctx)

MAX_CMD_LINE = 4096
MAX_DATA_LINE = 65536
STAGES = ("greeting", "ehlo", "ehlo2", "mail", "rcpt", "data", "dot")
DEFAULT_AT = {"endless": "ehlo", "longline": "greeting", "nul": "greeting",
              "silent": "greeting", "data250": "data", "lenient": None}

conn_lock = threading.Lock()
conn_count = [0]


def log(fmt, *args):
    """log - one timestamped line to stderr"""
    log_as(OPTS.name, fmt, *args)


def jlog(rec):
    """jlog - one JSON line to --log"""
    if not OPTS.log:
        return
    rec["t"] = round(time.time(), 3)
    append_json_line(OPTS.log, rec)


class Dropped(Exception):
    """The peer went away, a bound was reached, or we closed."""


class Session:
    """One SMTP server session."""

    def __init__(self, sock, n, peer, local):
        self.sock = sock
        self.n = n
        self.peer = peer
        self.local = local
        self.buf = bytearray()
        self.tls = None
        self.state = "start"
        self.ehlos = 0
        self.mail_from = None
        self.rcpts = []
        self.deadline = time.time() + OPTS.conn_limit
        self.lenient = OPTS.mode == "lenient"

    def ev(self, event, **kw):
        kw.update(event=event, conn=self.n, peer=self.peer, local=self.local)
        jlog(kw)

    # ---- I/O -------------------------------------------------------------

    def left(self):
        t = self.deadline - time.time()
        if t <= 0:
            raise Dropped("connection time limit (%gs)" % OPTS.conn_limit)
        return t

    def recv(self, timeout):
        """Some octets, or b"" on timeout; Dropped on EOF or error."""
        self.sock.settimeout(max(0.001, min(timeout, self.left())))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return b""
        except (OSError, ssl.SSLError) as e:
            raise Dropped("read: %s" % e)
        if not data:
            raise Dropped("EOF")
        return data

    def fill(self):
        data = self.recv(OPTS.idle_timeout)
        if not data:
            raise Dropped("idle for %gs" % OPTS.idle_timeout)
        self.buf += data

    def send(self, data):
        self.sock.settimeout(max(0.001, min(OPTS.idle_timeout, self.left())))
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as e:
            raise Dropped("write: %s" % e)

    def reply(self, *lines):
        for l in lines:
            log("%s -> %r", self.peer, l[:200])
        self.send(b"".join(l.encode("latin-1") + b"\r\n" for l in lines))

    def readline(self, limit):
        """(octets, term): term "crlf", "lf", "cr" (lenient only) or
        "none" (limit octets without a line end)"""
        while True:
            if self.lenient:
                ends = [j for j in (self.buf.find(b"\r", 0, limit + 1),
                                    self.buf.find(b"\n", 0, limit + 1)) if j >= 0]
                i = min(ends) if ends else -1
                if i >= 0 and self.buf[i] == 13:
                    if i + 1 < len(self.buf):
                        crlf = self.buf[i + 1] == 10
                        line = bytes(self.buf[:i])
                        del self.buf[:i + (2 if crlf else 1)]
                        return line, "crlf" if crlf else "cr"
                    # a CR last: an LF may be on its way
                    more = self.recv(OPTS.cr_wait)
                    if more:
                        self.buf += more
                        continue
                    line = bytes(self.buf[:i])
                    del self.buf[:i + 1]
                    return line, "cr"
                if i >= 0:
                    line = bytes(self.buf[:i])
                    del self.buf[:i + 1]
                    return line, "lf"
            else:
                i = self.buf.find(b"\n", 0, limit + 1)
                if i >= 0:
                    line = bytes(self.buf[:i])
                    del self.buf[:i + 1]
                    if line.endswith(b"\r"):
                        return line[:-1], "crlf"
                    return line, "lf"
            if len(self.buf) >= limit:
                line = bytes(self.buf[:limit])
                del self.buf[:limit]
                return line, "none"
            self.fill()

    def discard_until_gone(self, limit):
        """Read and drop everything until the peer goes or limit seconds."""
        end = min(time.time() + limit, self.deadline)
        got = 0
        try:
            while time.time() < end:
                got += len(self.recv(end - time.time()))
        except Dropped as e:
            return "peer: %s" % e, got
        return "time limit (%gs)" % limit, got

    # ---- hostile replies -------------------------------------------------

    def answer(self, stage, lines):
        """Send the normal reply lines for stage, or what the mode does
        there; False when the session must end."""
        if OPTS.at != stage or OPTS.mode in ("lenient", "data250"):
            self.reply(*lines)
            return True
        mode, t0 = OPTS.mode, time.time()
        code = lines[-1][:3]
        info = {"mode": mode, "stage": stage}
        if mode == "longline":
            line = code + " " + ("x" * max(0, OPTS.line_len - 4))
            self.reply(line)
            info.update(lines=1, octets=len(line) + 2, end="sent")
        elif mode == "nul":
            out = [l[:4] + "hostile\x00nul " + l[4:] for l in lines]
            self.reply(*out)
            info.update(lines=len(out), octets=sum(len(l) + 2 for l in out), end="sent")
        elif mode == "endless":
            n, octets, why = 0, 0, "max lines"
            end = min(t0 + OPTS.time_limit, self.deadline)
            try:
                while n < OPTS.max_lines:
                    if time.time() >= end:
                        why = "time limit (%gs)" % OPTS.time_limit
                        break
                    n += 1
                    l = ("%s-%s endless reply line %d" % (code, OPTS.name, n)).encode() + b"\r\n"
                    self.send(l)
                    octets += len(l)
                    if OPTS.interval > 0:
                        time.sleep(OPTS.interval)
            except Dropped as e:
                why = "peer: %s" % e
            info.update(lines=n, octets=octets, end=why)
        elif mode == "silent":
            why, got = self.discard_until_gone(OPTS.time_limit)
            info.update(lines=0, octets=0, end=why, discarded=got)
        info["seconds"] = round(time.time() - t0, 3)
        log("%s hostile %s at %s: %s", self.peer, mode, stage, info)
        self.ev("hostile", **info)
        if mode in ("endless", "silent"):
            return False
        return True

    # ---- SMTP ------------------------------------------------------------

    def ehlo_lines(self, arg):
        ext = ["PIPELINING", "SIZE 104857600", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"]
        if TLS_CTX and self.tls is None:
            ext.append("STARTTLS")
        lines = [OPTS.name + " hello " + arg] + ext
        return ["250-" + l for l in lines[:-1]] + ["250 " + lines[-1]]

    def run(self):
        log("connect %d from %s to %s", self.n, self.peer, self.local)
        self.ev("connect")
        reason = "?"
        try:
            if self.answer("greeting", ["220 %s ESMTP hostile_mx %s" % (OPTS.name, OPTS.mode)]):
                reason = self.commands()
            else:
                reason = "hostile mode done"
        except Dropped as e:
            reason = str(e)
        except Exception as e:  # a bug here must not end the server
            reason = "internal error: %r" % e
            log("%s internal error: %r", self.peer, e)
        finally:
            try:
                self.sock.close()
            except OSError:
                pass
            log("disconnect %d from %s: %s", self.n, self.peer, reason)
            self.ev("disconnect", reason=reason)

    def commands(self):
        while True:
            raw, term = self.readline(MAX_CMD_LINE)
            line = raw.decode("latin-1")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            log("%s <- %r (%s)", self.peer, line[:200], term)
            self.ev("command", line=line, term=term, verb=verb, state=self.state,
                    tls=self.tls is not None)
            if term == "none":
                while term == "none":
                    _, term = self.readline(MAX_CMD_LINE)
                self.reply("500 5.5.2 line too long")
                continue
            arg = arg.strip()
            if verb in ("EHLO", "HELO"):
                self.ehlos += 1
                stage = "ehlo2" if self.tls is not None else "ehlo"
                self.state = "idle"
                self.mail_from, self.rcpts = None, []
                lines = self.ehlo_lines(arg) if verb == "EHLO" else ["250 " + OPTS.name]
                if not self.answer(stage, lines):
                    return "hostile mode done"
            elif verb == "STARTTLS" and TLS_CTX and self.tls is None:
                self.reply("220 2.0.0 Ready to start TLS")
                self.buf = bytearray()
                self.sock.settimeout(max(0.001, min(OPTS.idle_timeout, self.left())))
                try:
                    self.sock = TLS_CTX.wrap_socket(self.sock, server_side=True)
                except (OSError, ssl.SSLError) as e:
                    raise Dropped("TLS handshake failed: %s" % e)
                self.tls = self.sock.version()
                self.state = "start"
                self.ev("tls", version=self.tls)
                log("%s TLS %s", self.peer, self.tls)
            elif verb == "MAIL":
                if self.state == "start":
                    self.reply("503 5.5.1 Error: send HELO/EHLO first")
                    continue
                self.mail_from, self.rcpts, self.state = arg, [], "mail"
                if not self.answer("mail", ["250 2.1.0 Ok"]):
                    return "hostile mode done"
            elif verb == "RCPT":
                if self.mail_from is None:
                    self.reply("503 5.5.1 Error: need MAIL command")
                    continue
                self.rcpts.append(arg)
                self.state = "rcpt"
                a = arg.partition("<")[2].partition(">")[0]
                if not self.answer("rcpt", ["250 2.1.5 <%s> Ok" % a]):
                    return "hostile mode done"
            elif verb == "DATA":
                if not self.rcpts:
                    self.reply("503 5.5.1 Error: need RCPT command")
                    continue
                if OPTS.mode == "data250":
                    self.reply("250 2.0.0 Ok (hostile_mx data250: no 354)")
                    self.ev("hostile", mode="data250", stage="data", lines=1, seconds=0,
                            end="sent 250 to DATA")
                    continue
                if not self.answer("data", ["354 End data with <CR><LF>.<CR><LF>"]):
                    return "hostile mode done"
                self.data()
                self.mail_from, self.rcpts, self.state = None, [], "idle"
                if not self.answer("dot", ["250 2.0.0 Ok: queued"]):
                    return "hostile mode done"
            elif verb == "RSET":
                self.mail_from, self.rcpts = None, []
                if self.state != "start":
                    self.state = "idle"
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "HELP":
                self.reply("214 2.0.0 hostile_mx")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return "QUIT"
            else:
                self.reply("500 5.5.2 command not recognized")

    def data(self):
        """Read the message up to its end (lenient or strict)."""
        h = hashlib.sha256()
        octets = 0
        before = "crlf"		# the start of data counts as a line start
        while True:
            piece, term = self.readline(MAX_DATA_LINE)
            if piece == b"." and term != "none" and before != "none":
                if self.lenient or (before == "crlf" and term == "crlf"):
                    break
            if before != "none" and piece.startswith(b"."):
                piece = piece[1:]
            h.update(piece)
            octets += len(piece)
            before = term
        strict = before == "crlf" and term == "crlf"
        log("%s end of data after %d octets: %s . %s%s", self.peer, octets, before,
            term, "" if strict else " (NOT CRLF.CRLF)")
        self.ev("data-end", before=before, term=term, strict=strict, octets=octets,
                sha256=h.hexdigest(), mail_from=self.mail_from, rcpts=self.rcpts)


def serve(lsock):
    while True:
        try:
            conn, sa = lsock.accept()
        except OSError as e:
            log("accept: %s", e)
            time.sleep(0.1)
            continue
        with conn_lock:
            conn_count[0] += 1
            n = conn_count[0]
        if n > OPTS.max_conns:
            log("connection %d over --max-conns %d: closed", n, OPTS.max_conns)
            conn.close()
            continue
        s = Session(conn, n, fmt_addr(sa), fmt_addr(conn.getsockname()))
        threading.Thread(target=s.run, daemon=True).start()


def main():
    global OPTS, TLS_CTX
    ap = argparse.ArgumentParser(description="lab hostile MX")
    ap.add_argument("--listen", action="append", required=True)
    ap.add_argument("--mode", required=True, choices=sorted(DEFAULT_AT))
    ap.add_argument("--at", choices=STAGES)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--name", default="hostile.lab.example")
    ap.add_argument("--pidfile")
    ap.add_argument("--log")
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--max-lines", type=int, default=1000000)
    ap.add_argument("--line-len", type=int, default=65536)
    ap.add_argument("--cr-wait", type=float, default=0.3)
    ap.add_argument("--idle-timeout", type=float, default=30.0)
    ap.add_argument("--conn-limit", type=float, default=120.0)
    ap.add_argument("--lifetime", type=float, default=900.0)
    ap.add_argument("--max-conns", type=int, default=10000)
    OPTS = ap.parse_args()
    if bool(OPTS.cert) != bool(OPTS.key):
        ap.error("--cert and --key go together")
    if OPTS.at is None:
        OPTS.at = DEFAULT_AT[OPTS.mode]
    TLS_CTX = server_tls_ctx(OPTS.cert, OPTS.key) if OPTS.cert else None
    socks = listen_sockets(OPTS.listen)
    pidfile_and_signals(OPTS.pidfile, log)
    log("listening on %s mode=%s at=%s tls=%s", " ".join(OPTS.listen), OPTS.mode,
        OPTS.at, "yes" if OPTS.cert else "no")
    for s in socks:
        threading.Thread(target=serve, args=(s,), daemon=True).start()
    # The whole process is bounded too: it ends after --lifetime seconds.
    time.sleep(OPTS.lifetime)
    log("--lifetime %gs reached: exiting", OPTS.lifetime)
    if OPTS.pidfile:
        try:
            os.unlink(OPTS.pidfile)
        except OSError:
            pass
    os._exit(0)


if __name__ == "__main__":
    main()
