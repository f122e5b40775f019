"""A tiny web app: answers GET /words/N with the number N spelled out (num2words).

`python app.py` serves on port 8000; `python app.py --self-test` starts the server on a free
loopback port, requests /words/1234 once, checks the answer and exits (0 on success). The dependencies come from the project's virtual environment, made by
`poetry install` in /app/.venv.
"""

import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib.metadata import version

from num2words import num2words


def describe(number):
    return f"{number} is {num2words(number)} (num2words {version('num2words')})"


class Handler(BaseHTTPRequestHandler):
    quiet = False

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "words" or not parts[1].isdigit():
            self.send_error(404)
            return
        body = f"hello from python-poetry: {describe(int(parts[1]))}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if not self.quiet:
            sys.stderr.write("python-poetry: " + (fmt % args) + "\n")


def self_test():
    Handler.quiet = True
    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/words/1234"
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read().decode()
    finally:
        server.shutdown()
    expected = "hello from python-poetry: 1234 is one thousand, two hundred and thirty-four"
    if not body.startswith(expected):
        print(f"self-test failed: {body!r}", file=sys.stderr)
        return 1
    print(f"self-test ok: {body.strip()}")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    server = HTTPServer(("0.0.0.0", 8000), Handler)
    print("python-poetry: serving on :8000", file=sys.stderr)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
