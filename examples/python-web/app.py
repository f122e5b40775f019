"""A tiny web app: answers GET / with the versions of the PostgreSQL driver and libpq it loaded.

`python app.py` serves on port 8000; `python app.py --self-test` starts the server on a free
loopback port, requests / once, checks the answer and exits (0 on success).
"""

import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import psycopg2
import psycopg2.extensions


def describe():
    # libpq_version() comes from the compiled extension, linked against libpq5.
    libpq = psycopg2.extensions.libpq_version()
    return f"psycopg2 {psycopg2.__version__.split()[0]} libpq {libpq}"


class Handler(BaseHTTPRequestHandler):
    quiet = False

    def do_GET(self):
        if self.path != "/":
            self.send_error(404)
            return
        body = f"hello from python-web: {describe()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if not self.quiet:
            sys.stderr.write("python-web: " + (fmt % args) + "\n")


def self_test():
    Handler.quiet = True
    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read().decode()
    finally:
        server.shutdown()
    if not body.startswith("hello from python-web"):
        print(f"self-test FAILED: {body!r}")
        return 1
    print(f"self-test ok: {body.strip()}")
    return 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    HTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
