"""A tiny web app: answers GET /size/N with N bytes said the human way (humanize).

`python app.py` serves on port 8000; `python app.py --self-test` starts the server on a free
loopback port, requests /size/1234567 once, checks the answer and exits (0 on success).
The dependency comes from the project's virtual environment, made by `uv sync`.
"""

import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import humanize


def describe(size):
    return f"{size} bytes is {humanize.naturalsize(size)} (humanize {humanize.__version__})"


class Handler(BaseHTTPRequestHandler):
    quiet = False

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "size" or not parts[1].isdigit():
            self.send_error(404)
            return
        body = f"hello from python-uv: {describe(int(parts[1]))}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if not self.quiet:
            sys.stderr.write("python-uv: " + (fmt % args) + "\n")


def self_test():
    Handler.quiet = True
    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/size/1234567"
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read().decode()
    finally:
        server.shutdown()
    if not body.startswith("hello from python-uv: 1234567 bytes is 1.2 MB"):
        print(f"self-test FAILED: {body!r}")
        return 1
    print(f"self-test ok: {body.strip()}")
    return 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    server = HTTPServer(("0.0.0.0", 8000), Handler)
    print("python-uv: serving on :8000", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
