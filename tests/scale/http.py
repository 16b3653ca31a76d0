"""A tiny HTTP client for tests against real servers: cookies kept by hand, no redirects."""

import http.client
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
)


class Response:
    """Status, headers and text of one response."""

    def __init__(self, raw: http.client.HTTPResponse):
        self.status = raw.status
        self.headers = raw.headers
        self.body = raw.read()
        self.text = self.body.decode("utf-8", "replace")


class Browser:
    """Sends requests to any host:port with one cookie jar (as a browser on one domain)."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, port: int, method: str, path: str, data=None, headers=None) -> Response:
        """One request to 127.0.0.1:port; Set-Cookie headers go into the jar."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = Response(conn.getresponse())
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["expires"] != "Thu, 01 Jan 1970 00:00:00 GMT":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response

    def get(self, port: int, path: str, headers=None) -> Response:
        """GET."""
        return self.request(port, "GET", path, headers=headers)

    def login(self, port: int, email: str, password: str) -> Response:
        """GET the login form (session cookie + CSRF token), then POST it."""
        form = self.get(port, "/login")
        match = CSRF.search(form.text)
        token = (match.group(1) or match.group(2)) if match else ""
        return self.request(
            port, "POST", "/login", {"csrf_token": token, "email": email, "password": password}
        )
