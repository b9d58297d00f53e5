"""The AuthGate in front of a small ASGI app (any HTTP face wraps its app the same way): nothing gets
through without a session or a token, a wrong password or token is refused, attempts are throttled."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute

from app.auth import AuthGate, gate_options, hash_password, identity_of, new_token
from perception.config import AuthConfig

TOKEN, TOKEN_HASH = new_token()
AUTH = AuthConfig(users=(("alice", hash_password("correct horse")),), tokens=(("ci", TOKEN_HASH),), max_failures=3)
pytestmark = pytest.mark.anyio
PATHS = ["/", "/config", "/gradio_api/call/ask", "/gradio_api/file=/etc/passwd", "/anything/else", "/login/../config"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _app(login_form: bool = True) -> AuthGate:
    async def echo(request):
        return PlainTextResponse(f"hello {identity_of(request)}")

    async def socket(websocket):
        await websocket.accept()
        await websocket.send_text("in")
        await websocket.close()

    routes = [Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]), WebSocketRoute("/ws", socket)]
    return AuthGate(Starlette(routes=routes), **gate_options(AUTH, login_form=login_form))


def _client(app: AuthGate, ip: str = "10.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 1234)), base_url="http://testserver")


@pytest.mark.parametrize("login_form", [True, False])
async def test_nothing_gets_through_without_credentials(login_form):
    async with _client(_app(login_form)) as client:
        for path in PATHS:
            for method in ("GET", "POST", "PUT", "DELETE"):
                response = await client.request(method, path)
                assert response.status_code == 401 and "hello" not in response.text, (method, path)
        page = await client.get("/", headers={"accept": "text/html"})
        assert (page.status_code, page.headers.get("location")) == ((303, "/login") if login_form else (401, None))


async def test_a_websocket_without_credentials_is_closed():
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    with TestClient(_app()) as client, pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws") as socket:
        socket.receive_text()


async def test_a_bearer_token_gets_through_as_its_program():
    async with _client(_app(login_form=False)) as client:
        response = await client.get("/config", headers={"authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200 and response.text == "hello token:ci"
        wrong = await client.get("/config", headers={"authorization": f"Bearer {TOKEN[:-2]}xx"})
        assert wrong.status_code == 401


async def test_signing_in_opens_a_session_and_signing_out_closes_it():
    async with _client(_app()) as client:
        form = await client.get("/login")
        assert form.status_code == 200 and 'name="password"' not in form.text and "name=password" in form.text
        signed = await client.post("/login", data={"username": "alice", "password": "correct horse"})
        assert signed.status_code == 200 and signed.json() == {"success": True}
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert (await client.get("/config")).text == "hello alice"
        await client.get("/logout")
        assert (await client.get("/config")).status_code == 401


async def test_a_browser_signs_in_through_the_form():
    async with _client(_app()) as client:
        html = {"accept": "text/html"}
        wrong = await client.post("/login", data={"username": "alice", "password": "nope"}, headers=html)
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
        right = await client.post("/login", data={"username": "alice", "password": "correct horse"}, headers=html)
        assert (right.status_code, right.headers["location"]) == (303, "/")


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong"), ("alice", ""), ("mallory", "correct horse"), ("", ""), ("alice", "x" * 5000)]
)
async def test_a_wrong_password_is_refused(username, password):
    async with _client(_app()) as client:
        response = await client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 401 and "set-cookie" not in response.headers
        assert (await client.get("/config")).status_code == 401


async def test_failed_attempts_are_rate_limited_even_with_the_right_password_after():
    app = _app()
    async with _client(app) as client, _client(app, ip="10.0.0.2") as neighbour:
        codes = [(await client.post("/login", data={"username": "alice", "password": f"guess{i}"})).status_code for i in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        right = await client.post("/login", data={"username": "alice", "password": "correct horse"})
        assert right.status_code == 429 and int(right.headers["retry-after"]) > 0
        token = await client.get("/config", headers={"authorization": f"Bearer {TOKEN}"})
        assert token.status_code == 429  # guessing tokens from the same client waits too
        other = await neighbour.post("/login", data={"username": "alice", "password": "correct horse"})
        assert other.status_code == 200  # another client is not locked out by one guesser


async def test_guessing_tokens_is_rate_limited():
    async with _client(_app(login_form=False)) as client:
        codes = [(await client.get("/", headers={"authorization": f"Bearer guess{i}"})).status_code for i in range(5)]
        assert codes == [401, 401, 401, 429, 429]
