#!/usr/bin/env python3
"""slowpolicy.py - a plain-HTTP backend that answers every GET with one
file's bytes (Content-Type: text/plain) after a delay.

tests/lab/fleet_test.sh puts it behind the lab's nginx (proxy_pass) for one
MTA-STS domain, so that a policy fetch takes DELAY seconds and three
gateways asking at once are sure to overlap: the fetch lock is what keeps
them to one fetch.  nginx still logs each request in its access log.

    slowpolicy.py --listen 127.0.0.1:8461 --file POLICY --delay 2 --pidfile F

One thread per request; each request line goes to stderr with the time.
"""
import argparse
import http.server
import os
import socketserver
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, help="HOST:PORT")
    ap.add_argument("--file", required=True, help="the file served")
    ap.add_argument("--delay", type=float, default=2.0, help="seconds before the answer")
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(a.delay)
            try:
                with open(a.file, "rb") as f:
                    body = f.read()
            except OSError:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            sys.stderr.write("%.3f %s\n" % (time.time(), fmt % args))
            sys.stderr.flush()

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server((host, int(port)), Handler)
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(a.pidfile + ".tmp", a.pidfile)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
