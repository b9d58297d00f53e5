"""The web app behind its AuthGate, as a client on the network would meet it: every route and endpoint
refuses a request without credentials, a wrong password is refused and repeated failures wait, a
signed-in user asks and may forget, a program's token asks but may not forget, and beyond loopback
the app will not start without credentials."""

from __future__ import annotations

import dataclasses
import re

import httpx
import pytest
from gradio_client import Client

from app import Longshot
from app.auth import hash_password, new_token
from app.web.server import serve
from perception.config import AuthConfig
from perception.errors import AuthRequiredError
from tests.app.web.serving import free_port

slow = pytest.mark.slow
TOKEN, TOKEN_HASH = new_token()
AUTH = AuthConfig(users=(("alice", hash_password("correct horse")),), tokens=(("ci", TOKEN_HASH),), max_failures=3)
OURS = {"/login", "/logout"}  # the gate's own sign-in form and sign-out


def _serve(library, host: str = "127.0.0.1"):
    return serve(library, web=dataclasses.replace(library.config.web, host=host, port=free_port()), block=False, auth=AUTH)


def _routes(routes) -> list[tuple[str, list[str]]]:
    """(path, methods) of every route, those of included routers too."""
    found = []
    for route in routes:
        if hasattr(route, "original_router"):
            found += _routes(route.original_router.routes)
        elif getattr(route, "path", ""):
            found.append((route.path, sorted(getattr(route, "methods", None) or {"GET"})))
    return found


@pytest.fixture(scope="module")
def guarded(library):
    app, url = _serve(library)
    yield app, url
    app.close()


def test_beyond_loopback_the_app_refuses_to_start_without_credentials(home):
    longshot = Longshot(home=home, web__host="0.0.0.0", web__port=free_port())
    with pytest.raises(AuthRequiredError, match="longshot auth user NAME"):
        serve(longshot, block=False)


@slow
def test_every_route_and_endpoint_is_refused_without_credentials(guarded):
    app, url = guarded
    tried, let_in = set(), []
    for path, methods in _routes(app.server_app.routes):
        if path.rstrip("/") in OURS:
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", path).lstrip("/")
        for method in methods:
            response = httpx.request(method, f"{url}{concrete}", timeout=30)
            tried.add(path)
            if response.status_code != 401:
                let_in.append(f"{method} {path}: {response.status_code}")
    for api in {fn.api_name for fn in app.fns.values() if fn.api_name}:
        for route in (f"gradio_api/call/{api}", f"gradio_api/run/{api}"):
            response = httpx.post(f"{url}{route}", json={"data": []}, timeout=30)
            tried.add(route)
            if response.status_code != 401:
                let_in.append(f"POST {route}: {response.status_code}")
    assert let_in == []
    served = {"/gradio_api/file={path_or_url:path}", "/gradio_api/upload", "/config", "/", "gradio_api/call/forget"}
    assert served | {"/gradio_api/startup-events", "/gradio_api/queue/join", "gradio_api/run/ask"} <= tried
    page = httpx.get(url, headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login"


@slow
def test_a_signed_in_user_asks_and_may_forget(guarded, video_id):
    _, url = guarded
    client = Client(url, auth=("alice", "correct horse"), verbose=False, analytics_enabled=False)
    chat, *_ = client.predict(video_id, "What is the vault code?", api_name="/ask")
    assert "4172" in str(chat[-1]["content"])
    with pytest.raises(Exception, match="Pick a video to forget first"):  # past the user check, to the video
        client.predict("no-such-video", api_name="/forget")


@slow
def test_a_programs_token_asks_but_may_not_forget_or_delete(guarded, video_id):
    _, url = guarded
    client = Client(url, headers={"Authorization": f"Bearer {TOKEN}"}, verbose=False, analytics_enabled=False)
    chat, *_ = client.predict(video_id, "What is the vault code?", api_name="/ask")
    assert "4172" in str(chat[-1]["content"])
    with pytest.raises(Exception, match="Sign in as a user"):
        client.predict(video_id, api_name="/forget")
    with pytest.raises(Exception, match="Sign in as a user"):
        client.predict(video_id, 1, api_name="/delete_fact")


@slow
def test_a_wrong_password_is_refused_and_failures_wait(library):
    app, url = _serve(library)
    try:
        with pytest.raises(Exception, match="(?i)invalid credentials"):
            Client(url, auth=("alice", "wrong"), verbose=False, analytics_enabled=False)
        codes = [httpx.post(f"{url}login", data={"username": "alice", "password": f"guess{i}"}).status_code for i in range(3)]
        right = httpx.post(f"{url}login", data={"username": "alice", "password": "correct horse"})
    finally:
        app.close()
    assert codes == [401, 401, 429] and right.status_code == 429 and int(right.headers["retry-after"]) > 0
