#!/usr/bin/python3
"""rptsink - the lab's TLSRPT HTTPS report endpoint (RFC 8460 3: rua=https:).

SYNOPSIS
    rptsink.py --listen ADDR:PORT [--listen [V6ADDR]:PORT ...]
               --cert FILE --key FILE --dir DIR [--pidfile FILE]
               [--path PREFIX] [--status N]

DESCRIPTION
    An HTTPS server (TLS 1.2 or 1.3; --cert holds the chain to send).  Each
    POST whose path starts with --path (default /tlsrpt) is answered
    --status (default 201, no body) and stored as DIR/N.body (the request
    body exactly as received, Content-Length or chunked) and DIR/N.json
    (method, path, content_type, content_length, headers, peer, sni, time,
    size, sha256) - the .json written last, both via a temporary file and a
    rename.  Any other request gets 404 (GET, HEAD, other paths) and is only
    logged.  One line per request on stderr.  The pid file is written once
    every listener is bound.  Only the Python standard library is used.
"""

import argparse
import hashlib
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mxsink import parse_listen, pidfile_and_signals, server_tls_ctx  # noqa: E402

LOCK = threading.Lock()
NEXT = [1]
MAX_BODY = 16 * 1024 * 1024


def log(fmt, *args):
    t = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)
    sys.stderr.write("%s rptsink[%d]: %s\n" % (stamp, os.getpid(), fmt % args if args else fmt))
    sys.stderr.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rptsink"
    sys_version = ""

    def log_message(self, fmt, *args):
        log("%s %s", self.address_string(), fmt % args)

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                if len(out) + n > MAX_BODY:
                    raise ValueError("body too large")
                out += self.rfile.read(n)
                self.rfile.readline(16)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n)

    def do_POST(self):
        try:
            body = self.read_body()
        except (ValueError, OSError) as e:
            log("%s bad request body: %s", self.address_string(), e)
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return
        if not self.path.startswith(OPTS.path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with LOCK:
            n = NEXT[0]
            NEXT[0] += 1
        tmp = os.path.join(OPTS.dir, ".%d.body.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(body)
        os.rename(tmp, os.path.join(OPTS.dir, "%d.body" % n))
        peer = self.client_address
        rec = {
            "n": n,
            "method": "POST",
            "path": self.path,
            "content_type": self.headers.get("Content-Type"),
            "content_length": self.headers.get("Content-Length"),
            "headers": [[k, v] for k, v in self.headers.items()],
            "peer": "[%s]:%d" % peer[:2] if ":" in peer[0] else "%s:%d" % peer[:2],
            "sni": getattr(self.connection, "lab_sni", None),
            "time": time.time(),
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        tmp = os.path.join(OPTS.dir, ".%d.json.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(rec, f, indent=1, sort_keys=True)
            f.write("\n")
        os.rename(tmp, os.path.join(OPTS.dir, "%d.json" % n))
        log("stored POST %d: %s %s, %d octets", n, self.path, rec["content_type"], len(body))
        self.send_response(OPTS.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fam, addr, ctx):
        self.address_family = fam
        self.ctx = ctx
        super().__init__(addr, Handler, bind_and_activate=False)
        if fam == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server_bind()
        self.server_activate()

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(30)
        try:
            tsock = self.ctx.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            log("%s TLS handshake failed: %s", addr[0], e)
            sock.close()
            raise OSError("handshake")
        return tsock, addr

    def handle_error(self, request, client_address):
        log("%s: %s", client_address[0], sys.exc_info()[1])


def main():
    global OPTS
    ap = argparse.ArgumentParser(description="lab TLSRPT HTTPS endpoint")
    ap.add_argument("--listen", action="append", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("--path", default="/tlsrpt")
    ap.add_argument("--status", type=int, default=201)
    OPTS = ap.parse_args()
    os.makedirs(OPTS.dir, exist_ok=True)
    for f in os.listdir(OPTS.dir):
        stem = f.split(".")[0]
        if stem.isdigit():
            NEXT[0] = max(NEXT[0], int(stem) + 1)
    ctx = server_tls_ctx(OPTS.cert, OPTS.key)
    servers = []
    for spec in OPTS.listen:
        fam, host, port = parse_listen(spec)
        servers.append(Server(fam, (host, port), ctx))

    pidfile_and_signals(OPTS.pidfile, log)
    log("listening on %s, storing POSTs to %s* in %s", " ".join(OPTS.listen), OPTS.path, OPTS.dir)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
