"""A tiny web app: answers GET /slug/TEXT with TEXT as a URL slug (python-slugify).

`python app.py` serves on port 8000; `python app.py --self-test` starts the server on a free
loopback port, requests /slug/ once, checks the answer and exits (0 on success).
The dependencies come from Pipfile.lock, installed by `pipenv install --deploy --system`.
"""

import sys
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import slugify
from slugify import slugify as make_slug

SAMPLE = "Héllo Wörld, ça va?"


def describe(text):
    return f"{make_slug(text)} (python-slugify {slugify.__version__})"


class Handler(BaseHTTPRequestHandler):
    quiet = False

    def do_GET(self):
        prefix = "/slug/"
        if not self.path.startswith(prefix) or len(self.path) == len(prefix):
            self.send_error(404)
            return
        text = urllib.parse.unquote(self.path[len(prefix):])
        body = f"hello from python-pipenv: {describe(text)}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if not self.quiet:
            sys.stderr.write("python-pipenv: " + (fmt % args) + "\n")


def self_test():
    Handler.quiet = True
    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/slug/{urllib.parse.quote(SAMPLE)}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read().decode()
    finally:
        server.shutdown()
    if not body.startswith("hello from python-pipenv: hello-world-ca-va"):
        print(f"self-test FAILED: {body!r}")
        return 1
    print(f"self-test ok: {body.strip()}")
    return 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    server = HTTPServer(("0.0.0.0", 8000), Handler)
    print("python-pipenv: serving on :8000", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
