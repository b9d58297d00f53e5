"""`AuthGate`: ASGI middleware that lets a request through only with a signed-in session or a bearer token.

It wraps the whole app, so no route is left open by accident (Gradio's own login check skips
some of its routes). People sign in on a small form at /login and get a session cookie
(HttpOnly, SameSite=Strict, kept in memory: a restart signs everyone out); programs send
`Authorization: Bearer <token>`. A wrong password or token counts against the client's
`Throttle`, and past its limit the answer is 429 with Retry-After, whatever is sent. The
identity ("alice", or "token:<name>" for a program) is put in the request's scope, where
`identity_of` reads it (Gradio's `auth_dependency`, the handlers' `may_delete`).
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Collection
from typing import Any

import anyio
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.auth.credentials import Credentials, is_loopback
from app.auth.throttle import Throttle
from perception.config import AuthConfig

SESSION_COOKIE = "longshot-session"
IDENTITY = "longshot.identity"  # the scope key of the signed-in identity
MAX_SESSIONS = 10_000


class Sessions:
    """Signed-in sessions: a random cookie value -> (identity, expiry); the oldest go first past MAX_SESSIONS."""

    def __init__(self, lifetime_s: float, clock=time.time):
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._open: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, identity: str) -> str:
        key = secrets.token_urlsafe(32)
        with self._lock:
            self._open[key] = (identity, self._clock() + self.lifetime_s)
            while len(self._open) > MAX_SESSIONS:
                self._open.popitem(last=False)
        return key

    def identity(self, key: str | None) -> str | None:
        with self._lock:
            found = self._open.get(key or "")
            if found is None:
                return None
            if found[1] < self._clock():
                del self._open[key or ""]
                return None
            return found[0]

    def close(self, key: str | None) -> None:
        with self._lock:
            self._open.pop(key or "", None)


def identity_of(request: Any) -> str | None:
    """The identity the gate let this request in as (None when no gate is in front)."""
    return request.scope.get(IDENTITY)


class AuthGate:
    """The middleware. `login_form=False` for faces used by programs only (MCP): bearer tokens, no form."""

    def __init__(
        self,
        app: Any,
        credentials: Credentials,
        throttle: Throttle,
        sessions: Sessions,
        login_form: bool = True,
        once: Collection[str] = (),
    ):
        """`once`: paths let through a single time, from this machine, for a server's own start-up call
        (Gradio's launch GETs /gradio_api/startup-events with no credentials); refused ever after."""
        self.app = app
        self.credentials = credentials
        self.throttle = throttle
        self.sessions = sessions
        self.login_form = login_form
        self._once = set(once)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/") or "/"
        if scope["type"] == "http" and self.login_form and path in ("/login", "/logout"):
            request = Request(scope, receive)
            response = await (self._login(request) if path == "/login" else self._logout(request))
            await response(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        if path in self._once and is_loopback(_client(connection)):
            self._once.discard(path)
            await self.app(scope, receive, send)
            return
        identity = self._identify(connection)
        if isinstance(identity, Response):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await identity(scope, receive, send)
            return
        scope[IDENTITY] = identity
        await self.app(scope, receive, send)

    def _identify(self, request: HTTPConnection) -> str | Response:
        """Who sent the request, or the answer that refuses it."""
        client = _client(request)
        bearer = _bearer(request)
        if bearer is not None:
            wait = self.throttle.wait(client)
            if wait > 0:
                return _too_many(wait)
            identity = self.credentials.token(bearer)
            if identity is None:
                self.throttle.failed(client)
                return _unauthorised("that bearer token is not one of this server's tokens")
            return identity
        identity = self.sessions.identity(request.cookies.get(SESSION_COOKIE))
        if identity is not None:
            return identity
        if self.login_form and request.scope.get("method") == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/login", status_code=303)
        how = "sign in at /login" if self.login_form else "send Authorization: Bearer <token>"
        return _unauthorised(f"this server needs credentials: {how}")

    async def _login(self, request: Request) -> Response:
        wants_page = "text/html" in request.headers.get("accept", "")
        if request.method == "GET":
            return HTMLResponse(login_page())
        if request.method != "POST":
            return Response(status_code=405, headers={"allow": "GET, POST"})
        client = _client(request)
        wait = self.throttle.wait(client)
        if wait > 0:
            if wants_page:
                return HTMLResponse(login_page(_waiting(wait)), status_code=429, headers={"retry-after": str(int(wait) + 1)})
            return _too_many(wait)
        form = await request.form()
        name, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
        identity = await anyio.to_thread.run_sync(self.credentials.user, name, password)
        if identity is None:
            self.throttle.failed(client)
            message = "Wrong user name or password."
            if wants_page:
                return HTMLResponse(login_page(message), status_code=401)
            return _unauthorised(message)
        self.throttle.succeeded(client)
        key = self.sessions.open(identity)
        response: Response = RedirectResponse("/", status_code=303) if wants_page else JSONResponse({"success": True})
        response.set_cookie(
            SESSION_COOKIE,
            key,
            max_age=int(self.sessions.lifetime_s),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def _logout(self, request: Request) -> Response:
        self.sessions.close(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response


def _client(request: HTTPConnection) -> str:
    return request.client.host if request.client else "unknown"


def _bearer(request: HTTPConnection) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _unauthorised(detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=401, headers={"www-authenticate": "Bearer"})


def _too_many(wait: float) -> Response:
    return JSONResponse({"detail": _waiting(wait)}, status_code=429, headers={"retry-after": str(int(wait) + 1)})


def _waiting(wait: float) -> str:
    return f"Too many failed attempts; try again in {int(wait) + 1} s."


def login_page(message: str = "") -> str:
    """The sign-in form: plain HTML with its style inline, so it needs nothing the gate would refuse."""
    note = f'<p class="note">{html.escape(message)}</p>' if message else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Longshot · sign in</title>"
        '<meta name=viewport content="width=device-width, initial-scale=1"><style>'
        "body{font-family:system-ui,sans-serif;background:#f8fafc;display:grid;place-items:center;height:100vh;margin:0}"
        "form{background:#fff;padding:2rem 2.4rem;border-radius:12px;box-shadow:0 2px 12px #0002;min-width:18rem}"
        "h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin:.6rem 0 .2rem;color:#334155}"
        "input{width:100%;padding:.5rem;border:1px solid #cbd5e1;border-radius:6px;box-sizing:border-box}"
        "button{margin-top:1.2rem;width:100%;padding:.6rem;border:0;border-radius:6px;background:#4f46e5;color:#fff}"
        ".note{color:#b91c1c}</style></head><body>"
        '<form method=post action="/login"><h1>Longshot</h1>' + note + "<label for=u>User</label>"
        "<input id=u name=username autocomplete=username required autofocus>"
        "<label for=p>Password</label><input id=p name=password type=password autocomplete=current-password required>"
        "<button type=submit>Sign in</button></form></body></html>"
    )


def gate_options(auth: AuthConfig, login_form: bool = True, once: Collection[str] = ()) -> dict[str, Any]:
    """AuthGate's arguments from the configuration: `AuthGate(app, **gate_options(auth))`, or
    `Middleware(AuthGate, **gate_options(auth))` where an app takes a middleware list."""
    return {
        "credentials": Credentials.from_config(auth),
        "throttle": Throttle(auth.max_failures, auth.window_s, auth.max_failures_overall),
        "sessions": Sessions(auth.session_hours * 3600),
        "login_form": login_form,
        "once": once,
    }
