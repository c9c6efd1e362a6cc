"""Another site, on a loopback port of its own: its page submits a form to one of our URLs as
soon as it opens (a cross-site request forgery, sent the way a browser really sends it)."""

from __future__ import annotations

import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


class _AutoSubmit(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        target = query["target"][0]
        policy = query.get("referrer", [""])[0]
        meta = f'<meta name="referrer" content="{escape(policy)}">' if policy else ""
        page = (
            f"<!doctype html><html><head>{meta}<title>Win a prize</title></head><body>"
            f'<form method="post" action="{escape(target)}"></form>'
            "<script>document.forms[0].submit()</script></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: object) -> None:
        pass


class ForeignSite:
    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _AutoSubmit)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def page(self, host: str, target: str, *, referrer: str = "") -> str:
        """The address of a page on `host` (another port of 127.0.0.1 is another origin of the
        same site; `localhost` is another site) that POSTs a form to `target` at once; with
        `referrer="no-referrer"` the browser sends `Origin: null`."""
        return f"http://{host}:{self.port}/?{urlencode({'target': target, 'referrer': referrer})}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
